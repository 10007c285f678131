"""Dependencies handlers ask for, by name. `create_app` provides them."""

from typing import Annotated

from litestar.di import NamedDependency
from litestar.params import Parameter

from survey.accounts.provider import IdentityProvider
from survey.db.engine import Database
from survey.settings import Settings
from survey.surveys.intake import Intake

DatabaseDep = NamedDependency[Database]
IdentityProviderDep = NamedDependency[IdentityProvider]
IntakeDep = NamedDependency[Intake]
SettingsDep = NamedDependency[Settings]

# An id in a path: a positive 32-bit integer (anything else is a 400, not a database error).
ObjectId = Annotated[int, Parameter(ge=1, le=2_147_483_647, description="A positive whole number.")]
