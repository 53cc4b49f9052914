"""Electronic case report forms: form specs, visits, responses, queries, SDV, signatures."""
