"""The AWS guardrail rules, one module per family; `infra.guardrails` discovers them.

A rule is a check function and, beside it, a `Guardrail` constant with its metadata. A new
rule in an existing family is a new function and constant in that module; a new family is
a new module, named in `FAMILIES` (the order reports list families in).
"""

FAMILIES = ("s3", "perimeter", "kms", "iam", "athena", "tags", "sns", "glue")
