"""AWS: one descriptor per resource type, the emulator applier, the live checker, the guardrail rules and the capabilities."""
