"""Who may call the HTTP API: one Cognito user pool per population, one JWT authorizer each.

End users sign up in `<app>-users` (the phone app's pool; a customer's id is
their `sub` there); operators are created by an administrator in
`<app>-operators`, with MFA required. Two pools, two issuers: API Gateway's
JWT authorizer trusts one issuer, so an end user's token can never pass the
operators' authorizer (the admin console's, and the api's operator routes),
whatever it claims. Each pool has one public app client (no secret: a phone
app or a browser cannot keep one), issuing access tokens for an hour.
"""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_apigatewayv2_authorizers as authorizers
from aws_cdk import aws_cognito as cognito
from constructs import Construct

from queuefirst.model.principal import OPERATORS, USERS
from queuefirst_infra.acknowledge import acknowledge

PASSWORD_POLICY = cognito.PasswordPolicy(
    min_length=12,
    require_lowercase=True,
    require_uppercase=True,
    require_digits=True,
    require_symbols=True,
    temp_password_validity=Duration.days(3),
)
TOKEN_VALIDITY = Duration.hours(1)
THREAT_PROTECTION_REASON = (
    "Cognito's threat protection (AdvancedSecurityMode ENFORCED) comes with the Plus feature "
    "plan, billed per monthly active user: an owner's choice per deployment, not the kit's. "
    "Passwords need 12 characters of every class, and operators need MFA."
)
# The Plus plan's findings, acknowledged for that reason on both pools.
PLUS_PLAN_FINDINGS = ("AwsSolutions-COG3", "AwsSolutions-COG8")


class UserPools(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, app: str) -> None:
        super().__init__(scope, construct_id)
        users = cognito.UserPool(
            self,
            "Users",
            user_pool_name=f"{app}-{USERS}",
            self_sign_up_enabled=True,
            sign_in_aliases=cognito.SignInAliases(email=True),
            auto_verify=cognito.AutoVerifiedAttrs(email=True),
            password_policy=PASSWORD_POLICY,
            mfa=cognito.Mfa.OPTIONAL,
            mfa_second_factor=cognito.MfaSecondFactor(sms=False, otp=True),
            account_recovery=cognito.AccountRecovery.EMAIL_ONLY,
            deletion_protection=True,
            removal_policy=RemovalPolicy.RETAIN,
        )
        acknowledge(
            users,
            "AwsSolutions-COG2",
            "End users choose MFA (TOTP offered); requiring it of every shopper is the "
            "product owner's call, not the kit's. Operators' MFA is required.",
        )
        for finding in PLUS_PLAN_FINDINGS:
            acknowledge(users, finding, THREAT_PROTECTION_REASON)
        operators = cognito.UserPool(
            self,
            "Operators",
            user_pool_name=f"{app}-{OPERATORS}",
            self_sign_up_enabled=False,  # an administrator invites each operator
            sign_in_aliases=cognito.SignInAliases(username=True, email=True),
            password_policy=PASSWORD_POLICY,
            mfa=cognito.Mfa.REQUIRED,
            mfa_second_factor=cognito.MfaSecondFactor(sms=False, otp=True),
            account_recovery=cognito.AccountRecovery.NONE,  # an administrator resets an operator
            deletion_protection=True,
            removal_policy=RemovalPolicy.RETAIN,
        )
        for finding in PLUS_PLAN_FINDINGS:
            acknowledge(operators, finding, THREAT_PROTECTION_REASON)
        self.pools = {USERS: users, OPERATORS: operators}
        self.clients = {kind: self._client(kind, pool) for kind, pool in self.pools.items()}

    def _client(self, kind: str, pool: cognito.UserPool) -> cognito.UserPoolClient:
        return pool.add_client(
            "App",
            user_pool_client_name=f"{kind}-app",
            generate_secret=False,
            # SRP for apps (the password never leaves the device); USER_PASSWORD_AUTH for
            # scripts and the README's `aws cognito-idp initiate-auth`, over TLS to Cognito.
            auth_flows=cognito.AuthFlow(user_srp=True, user_password=True),
            prevent_user_existence_errors=True,
            access_token_validity=TOKEN_VALIDITY,
            id_token_validity=TOKEN_VALIDITY,
            refresh_token_validity=Duration.days(30),
            enable_token_revocation=True,
        )

    def issuer(self, kind: str) -> str:
        """What the pool writes in a token's `iss`, and the authorizer trusts."""
        stack = Stack.of(self)
        return f"https://cognito-idp.{stack.region}.{stack.url_suffix}/{self.pools[kind].user_pool_id}"

    def authorizer(self, kind: str) -> authorizers.HttpUserPoolAuthorizer:
        """API Gateway's JWT authorizer: issuer the pool, audience its app client."""
        return authorizers.HttpUserPoolAuthorizer(
            f"{kind}-authorizer",
            self.pools[kind],
            authorizer_name=kind,
            user_pool_clients=[self.clients[kind]],
            identity_source=["$request.header.Authorization"],
        )
