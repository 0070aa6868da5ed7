"""One bootstrap per process: every settings object a process needs, built once from a
given environment mapping and passed down. The only place the ``mmrag`` command turns
environment variables into settings; the packages below never read the environment.

``mmrag worker`` ─ ``worker_configuration``  (stream, worker, indexer, encoders)
``mmrag serve`` ── ``api_configuration``     (api, store, generation, change log, encoders)
``mmrag cms-ingress`` ─ ``cms_configuration`` (cms, stream)
``mmrag watch`` ── ``watch_configuration``   (stream, watch)
Kafka commands ─── ``stream_settings``; ``mmrag stack`` ─ ``stack_settings``

Each builder takes the mapping (``os.environ`` in the CLI, a plain dict in tests) and
raises ``ConfigurationError`` naming every bad variable. Settings modules are imported
inside the builders, so importing this module stays cheap.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar, cast

from pydantic import ValidationError
from pydantic_settings import BaseSettings, EnvSettingsSource, PydanticBaseSettingsSource

if TYPE_CHECKING:
    from compose.local.settings import StackSettings
    from indexer.change_log import ChangeLogSettings
    from indexer.encoders.settings import EncoderSettings
    from indexer.settings import IndexerSettings
    from query_api.generation.settings import GenerationSettings
    from query_api.settings import ApiSettings
    from stream.cms.settings import CmsSettings
    from stream.settings import StreamSettings
    from stream.watcher.settings import WatchSettings
    from stream.worker.settings import WorkerSettings

SettingsT = TypeVar("SettingsT", bound=BaseSettings)
Environ = Mapping[str, str]


class ConfigurationError(ValueError):
    """Settings that do not validate; the message names each bad variable. The command
    line (``mmrag.cli.main``) prints it and exits 2 instead of showing a traceback."""


class _MappingEnvSource(EnvSettingsSource):
    """pydantic-settings' environment source, reading ``environ`` instead of ``os.environ``
    (same prefixes, aliases, JSON parsing of complex fields)."""

    def __init__(self, settings_class: type[BaseSettings], environ: Environ) -> None:
        self._environ = environ
        super().__init__(settings_class)

    def _load_env_vars(self) -> Mapping[str, str | None]:
        # As pydantic-settings does with os.environ (none of our settings set
        # ``env_parse_none_str``, the one option this leaves out).
        return {
            (key if self.case_sensitive else key.lower()): value
            for key, value in self._environ.items()
            if not (self.env_ignore_empty and value == "")
        }


def load(settings_class: type[SettingsT], environ: Environ, **overrides: Any) -> SettingsT:
    """``settings_class`` from ``environ`` only (no ``os.environ``, no dotenv or secrets
    files); values in ``overrides`` win over it.

    pydantic-settings reads the process environment in ``__init__`` (even through
    ``model_validate``); its documented hook for other sources is the class method
    ``settings_customise_sources``, so the settings are built by a same-named subclass
    whose only change is that hook."""

    def sources(
        cls: type[BaseSettings],
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, _MappingEnvSource(settings_cls, environ))

    scoped = type(
        settings_class.__name__,
        (settings_class,),
        {
            "__module__": settings_class.__module__,
            "__qualname__": settings_class.__qualname__,
            "settings_customise_sources": classmethod(sources),
        },
    )
    try:
        return cast(SettingsT, scoped(**overrides))
    except ValidationError as error:
        raise ConfigurationError(describe(settings_class, error)) from error


def describe(settings_class: type[BaseSettings], error: ValidationError) -> str:
    """One line per bad value, named by its environment variable (pure)."""
    prefix = str(settings_class.model_config.get("env_prefix", ""))
    lines = []
    for item in error.errors():
        location = [str(part) for part in item["loc"]]
        name = location[0] if location else ""
        variable = name if name.startswith(prefix) else f"{prefix}{name}".upper()
        where = ".".join([variable, *location[1:]]) if name else settings_class.__name__
        lines.append(f"{where}: {item['msg']}")
    return f"invalid {settings_class.__name__}: " + "; ".join(lines)


@dataclass(frozen=True)
class WorkerConfiguration:
    stream: StreamSettings
    worker: WorkerSettings
    indexer: IndexerSettings
    encoders: EncoderSettings


def worker_configuration(environ: Environ) -> WorkerConfiguration:
    from indexer.encoders.settings import EncoderSettings
    from indexer.settings import IndexerSettings
    from stream.settings import StreamSettings
    from stream.worker.settings import WorkerSettings

    return WorkerConfiguration(
        stream=load(StreamSettings, environ),
        worker=load(WorkerSettings, environ),
        indexer=load(IndexerSettings, environ),
        encoders=load(EncoderSettings, environ),
    )


@dataclass(frozen=True)
class ApiConfiguration:
    api: ApiSettings
    store: IndexerSettings
    generation: GenerationSettings
    change_log: ChangeLogSettings
    encoders: EncoderSettings


def api_configuration(
    environ: Environ, *, host: str | None = None, port: int | None = None
) -> ApiConfiguration:
    """The query API's settings; ``host``/``port`` (command-line options) win over
    ``MMRAG_API_HOST``/``MMRAG_API_PORT``."""
    from indexer.change_log import ChangeLogSettings
    from indexer.encoders.settings import EncoderSettings
    from indexer.settings import IndexerSettings
    from query_api.generation.settings import GenerationSettings
    from query_api.settings import ApiSettings

    given = {key: value for key, value in (("host", host), ("port", port)) if value is not None}
    return ApiConfiguration(
        api=load(ApiSettings, environ, **given),
        store=load(IndexerSettings, environ),
        generation=load(GenerationSettings, environ),
        change_log=load(ChangeLogSettings, environ),
        encoders=load(EncoderSettings, environ),
    )


@dataclass(frozen=True)
class CmsConfiguration:
    cms: CmsSettings
    stream: StreamSettings


def cms_configuration(environ: Environ) -> CmsConfiguration:
    from stream.cms.settings import CmsSettings
    from stream.settings import StreamSettings

    return CmsConfiguration(cms=load(CmsSettings, environ), stream=load(StreamSettings, environ))


@dataclass(frozen=True)
class WatchConfiguration:
    stream: StreamSettings
    watch: WatchSettings


def watch_configuration(environ: Environ, *, polling: bool | None = None) -> WatchConfiguration:
    """The watcher's settings; ``polling`` (``--polling/--native``) wins over
    ``MMRAG_WATCH_POLLING``."""
    from stream.settings import StreamSettings
    from stream.watcher.settings import WatchSettings

    given = {} if polling is None else {"polling": polling}
    return WatchConfiguration(
        stream=load(StreamSettings, environ), watch=load(WatchSettings, environ, **given)
    )


def stream_settings(environ: Environ) -> StreamSettings:
    """Kafka names and topic layout, for the commands that talk to Kafka only."""
    from stream.settings import StreamSettings

    return load(StreamSettings, environ)


def stack_settings(environ: Environ) -> StackSettings:
    from compose.local.settings import StackSettings

    return load(StackSettings, environ)
