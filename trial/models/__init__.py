from .consent import ConsentRecord, ConsentVersion, ConsentVersionSite
from .family import Family, FamilyIdentity, IdentifierCounter, Participant, PersonIdentity
from .screening import ScreeningOutcome, ScreeningRecord
from .trial import Trial
from .withdrawal import Withdrawal

__all__ = [
    "ConsentRecord",
    "ConsentVersion",
    "ConsentVersionSite",
    "Family",
    "FamilyIdentity",
    "IdentifierCounter",
    "Participant",
    "PersonIdentity",
    "ScreeningOutcome",
    "ScreeningRecord",
    "Trial",
    "Withdrawal",
]
