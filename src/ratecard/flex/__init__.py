"""Flex contact-center plans (SPEC sections 2 and 3): seats, quotas, unbundled voice,
eligibility rules, plan history and the plan advisor."""
