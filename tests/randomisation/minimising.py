"""A trial switched to minimisation before go-live, as a statistician would define it."""

import hashlib


def minimising(world, *, p: float = 0.8) -> None:
    """Redefine the world's trial to allocate by minimisation with random element p."""
    trial = world.trial
    source = trial.definition_source.replace("method: blocks", "method: minimisation")
    source = source.replace("    p: 0.8\n", f"    p: {p}\n")
    assert "method: minimisation" in source and f"p: {p}" in source
    trial.definition_source = source
    trial.definition_sha256 = hashlib.sha256(source.encode()).hexdigest()
    trial.save(update_fields=["definition_source", "definition_sha256"])
