from common.errors import ApplicationError


class MembersError(ApplicationError):
    code = "members_error"


class EmailTakenError(MembersError):
    code = "email_taken"
    default_message = "An account with this email address already exists."


class InvalidCredentialsError(MembersError):
    code = "invalid_credentials"
    status_code = 400
    default_message = "The email address or password is wrong."


class InvalidResetLinkError(MembersError):
    code = "invalid_reset_token"
    default_message = "This password reset link is invalid or has expired."


class MembershipError(MembersError):
    code = "membership_error"
