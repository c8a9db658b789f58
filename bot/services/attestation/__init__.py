"""After go-live: periodic re-attestation, At risk and Stale model flags, the age of an initiative's MLflow model."""
