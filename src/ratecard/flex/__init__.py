"""Flex contact-center plans (SPEC sections 2 and 3): seats, quotas, unbundled voice,
eligibility rules and plan history (the plan advisor is ratecard.billing.advisor)."""
