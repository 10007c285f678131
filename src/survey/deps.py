"""Dependencies handlers ask for, by name. `create_app` provides them."""

from litestar.di import NamedDependency

from survey.db import Database
from survey.intake import Intake
from survey.settings import Settings

DatabaseDep = NamedDependency[Database]
IntakeDep = NamedDependency[Intake]
SettingsDep = NamedDependency[Settings]
