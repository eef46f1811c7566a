"""OpenTelemetry: captures linked to the traces of their requests, and exported as spans."""
