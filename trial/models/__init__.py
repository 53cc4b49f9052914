from .consent import ConsentRecord, ConsentVersion, ConsentVersionSite
from .deviation import ProtocolDeviation
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
    "ProtocolDeviation",
    "ScreeningOutcome",
    "ScreeningRecord",
    "Trial",
    "Withdrawal",
]
