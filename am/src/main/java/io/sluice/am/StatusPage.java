package io.sluice.am;

import com.google.common.html.HtmlEscapers;
import com.google.protobuf.util.JsonFormat;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.sluice.proto.BatchStats;
import io.sluice.proto.StatusResponse;
import io.sluice.runtime.StageStatsText;
import io.sluice.runtime.StateStatusText;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;
import java.util.function.Supplier;

/**
 * The AM's tracking page, reached through the ResourceManager's proxy: the job's status as HTML
 * with a chart of recent batch times at {@code /}, and the same status as JSON at {@code /json}
 * (the {@code StatusResponse} message of the control RPC). Serves a snapshot; never touches the
 * driver's own state.
 */
final class StatusPage implements AutoCloseable {
  private static final int CHART_BATCHES = 60;

  private final HttpServer server;
  private final String url;

  private StatusPage(HttpServer server, String url) {
    this.server = server;
    this.url = url;
  }

  static StatusPage start(String host, Supplier<StatusResponse> status) throws IOException {
    HttpServer server = HttpServer.create(new InetSocketAddress(0), 0);
    server.createContext("/json", exchange -> reply(exchange, "application/json",
        JsonFormat.printer().print(status.get())));
    server.createContext("/", exchange -> reply(exchange, "text/html; charset=utf-8", html(status.get())));
    server.start();
    return new StatusPage(server, "http://" + host + ":" + server.getAddress().getPort() + "/");
  }

  String url() {
    return url;
  }

  private static void reply(HttpExchange exchange, String type, String body) throws IOException {
    byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
    exchange.getResponseHeaders().set("Content-Type", type);
    exchange.getResponseHeaders().set("Cache-Control", "no-store");
    exchange.sendResponseHeaders(200, bytes.length);
    try (OutputStream out = exchange.getResponseBody()) {
      out.write(bytes);
    }
  }

  static String html(StatusResponse s) {
    StringBuilder h = new StringBuilder("<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>Sluice ")
        .append(esc(s.getApplicationId())).append("</title><meta http-equiv=\"refresh\" content=\"5\">")
        .append("<style>body{font-family:sans-serif;margin:2em}td{padding:2px 12px}th{text-align:left}</style>")
        .append("</head><body><h1>Sluice ").append(esc(s.getApplicationId())).append("</h1><table id=\"status\">");
    row(h, "state", s.getState());
    row(h, "attempt", Integer.toString(s.getAttempt()));
    row(h, "epoch", Long.toString(s.getEpoch()));
    row(h, "batches completed", Long.toString(s.getBatchesCompleted()));
    row(h, "last batch", s.getLastBatchTimeMs() == 0 ? "none"
        : s.getLastBatchTimeMs() + " (" + Instant.ofEpochMilli(s.getLastBatchTimeMs()) + ")");
    row(h, "batch interval", s.getBatchIntervalMs() + " ms");
    row(h, "processing time", s.getLastProcessingMs() + " ms");
    row(h, "scheduling delay", s.getLastSchedulingDelayMs() + " ms");
    row(h, "stages of the last batch",
        StageStatsText.lastBatch(s.getRecentBatchesList()).orElse("no batch completed yet"));
    row(h, "executors", s.getExecutors() + (s.getAttempt() > 1 ? " (" + s.getAdoptedExecutors()
        + " adopted from the previous attempt; state " + (s.getStateKept() ? "kept in memory" : "restored, "
        + s.getBatchesReplayed() + " batches replayed") + ")" : ""));
    row(h, "class-data archive for restarts", restartArchive(s));
    row(h, "checkpoint", s.getCheckpointDir() + " (metadata sequence " + s.getLastCheckpointSequence() + ", "
        + s.getCheckpointBytes() + " bytes)");
    s.getStateOperatorsList().forEach(o -> row(h, "state " + o.getNodeId(), StateStatusText.describe(o)));
    h.append("</table><h2>Recent batches: processing time (ms)</h2>").append(chart(s.getRecentBatchesList()))
        .append("<p><a href=\"json\">JSON</a></p></body></html>");
    return h.toString();
  }

  private static String restartArchive(StatusResponse s) {
    return (s.getRestartArchive().isEmpty() ? "not written yet" : s.getRestartArchive())
        + (s.getStartedFromArchive() ? " (this attempt started from it)" : "");
  }

  private static void row(StringBuilder h, String name, String value) {
    h.append("<tr><th>").append(esc(name)).append("</th><td>").append(esc(value)).append("</td></tr>");
  }

  /** An SVG bar per batch, scaled to the slowest, with the batch interval as a line. */
  private static String chart(List<BatchStats> batches) {
    List<BatchStats> shown = batches.subList(Math.max(0, batches.size() - CHART_BATCHES), batches.size());
    long max = Math.max(1, shown.stream().mapToLong(BatchStats::getProcessingMs).max().orElse(1));
    int width = 8;
    int height = 120;
    StringBuilder svg = new StringBuilder("<svg id=\"batch-chart\" width=\"").append(CHART_BATCHES * width)
        .append("\" height=\"").append(height).append("\" xmlns=\"http://www.w3.org/2000/svg\">");
    for (int i = 0; i < shown.size(); i++) {
      BatchStats b = shown.get(i);
      long bar = Math.max(1, b.getProcessingMs() * (height - 10) / max);
      svg.append("<rect x=\"").append(i * width).append("\" y=\"").append(height - bar).append("\" width=\"")
          .append(width - 1).append("\" height=\"").append(bar).append("\" fill=\"steelblue\"><title>batch ")
          .append(b.getBatchTimeMs()).append(": ").append(b.getProcessingMs()).append(" ms</title></rect>");
    }
    return svg.append("</svg>").toString();
  }

  private static String esc(String s) {
    return HtmlEscapers.htmlEscaper().escape(s);
  }

  @Override
  public void close() {
    server.stop(0);
  }
}
