"""Dependencies handlers ask for, by name. `create_app` provides them."""

from litestar.di import NamedDependency

from survey.intake import Intake
from survey.settings import Settings

IntakeDep = NamedDependency[Intake]
SettingsDep = NamedDependency[Settings]
