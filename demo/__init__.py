"""The demo trial: accounts, sites, families, forms, allocations, queries and a review, seeded
through the same services as the pages. Never imported by the domain."""
