package io.sluice.checkpoint;

import io.sluice.graph.Fingerprint;
import io.sluice.proto.GraphFingerprint;
import io.sluice.proto.OperatorSignature;

/** Converts the graph fingerprint to and from its protobuf form. */
public final class FingerprintCodec {
  private FingerprintCodec() {}

  public static GraphFingerprint toProto(Fingerprint f) {
    GraphFingerprint.Builder b = GraphFingerprint.newBuilder().setDigest(f.digest()).setBatchIntervalMs(f.batchIntervalMs());
    f.operators().forEach(s -> b.addOperators(OperatorSignature.newBuilder().setId(s.id()).setDescription(s.description())));
    return b.build();
  }

  public static Fingerprint fromProto(GraphFingerprint p) {
    return new Fingerprint(p.getDigest(),
        p.getOperatorsList().stream().map(s -> new Fingerprint.Signature(s.getId(), s.getDescription())).toList(),
        p.getBatchIntervalMs());
  }
}
