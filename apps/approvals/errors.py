"""Why an approval action was refused. Each is a DomainError, so the API answers with its code."""

from apps.core.errors import DomainError, PermissionDenied


class SeparationOfDuties(PermissionDenied):
    """The requester never approves their own request; nobody approves two levels of one request."""

    code = "separation_of_duties"


class NotEligible(PermissionDenied):
    """The user holds neither the level's permission (and group) nor a delegation from someone who does."""

    code = "not_eligible"


class NotClaimable(DomainError):
    """The task is held by someone else, or has not been claimed yet."""

    code = "not_claimable"


class AlreadyDecided(DomainError):
    code = "already_decided"


class CommentRequired(DomainError):
    status_code = 400
    code = "comment_required"


class InvalidDelegation(DomainError):
    status_code = 400
    code = "invalid_delegation"
