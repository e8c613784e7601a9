package io.sluice.deploy;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Debian's Chromium, run headless to load a page as a browser does and print the DOM it built.
 * {@code .ci/run} installs it; {@link #isInstalled()} lets a test skip where it is not.
 */
final class HeadlessChromium {
  private static final Path BINARY = Path.of("/usr/bin/chromium");

  private HeadlessChromium() {}

  static boolean isInstalled() {
    return Files.isExecutable(BINARY);
  }

  /** The page's DOM after the browser loaded and rendered it. */
  static String dumpDom(String url) throws IOException, InterruptedException {
    Path profile = Files.createTempDirectory("sluice-chromium");
    // The flags keep Chromium from reaching for Google's hosts, which this sandboxed network refuses.
    Process p = new ProcessBuilder(List.of(BINARY.toString(), "--headless", "--no-sandbox", "--disable-gpu",
        "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--user-data-dir=" + profile, "--dump-dom", url))
        .redirectError(ProcessBuilder.Redirect.DISCARD).start();
    String dom = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    if (!p.waitFor(60, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      throw new IOException("chromium did not finish loading " + url);
    }
    return dom;
  }
}
