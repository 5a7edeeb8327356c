"""GCP: one descriptor per resource type, the guardrail rules and the capabilities."""
