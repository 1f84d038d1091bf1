"""Loads the names of idea statuses from STATUS_LABELS_PATH, over the shipped ones."""

from __future__ import annotations

from pathlib import Path

import yaml

from bot.settings import Settings
from handlers.flows.safe_yaml import UnsafeYaml, load_yaml, read_yaml_text
from handlers.ideas.status import DEFAULT_LABELS, IdeaStatus, StatusLabels


class StatusLabelsError(Exception):
    """The labels file cannot be used; the message says why and where."""


def load_status_labels(settings: Settings) -> StatusLabels:
    """The shipped labels, with the ones in STATUS_LABELS_PATH (if set) in their place."""
    path = settings.status_labels_path
    if path is None:
        return StatusLabels.default()
    return StatusLabels(_merged(path))


def _merged(path: Path) -> dict[IdeaStatus, dict[str, str]]:
    try:
        data = load_yaml(read_yaml_text(path)) or {}
    except UnsafeYaml as error:
        raise StatusLabelsError(f"{path}:{error.line}: {error.message}") from None
    except UnicodeDecodeError:
        raise StatusLabelsError(f"{path}: is not UTF-8 text") from None
    except (OSError, yaml.YAMLError) as error:
        raise StatusLabelsError(f"{path}: cannot read the status labels ({error})") from None
    if not isinstance(data, dict):
        raise StatusLabelsError(f"{path}: expected `status: {{en: ..., nb: ...}}` entries")
    labels = {status: dict(names) for status, names in DEFAULT_LABELS.items()}
    known = ", ".join(status.value for status in IdeaStatus)
    for key, names in data.items():
        try:
            status = IdeaStatus(str(key))
        except ValueError:
            raise StatusLabelsError(
                f"{path}: '{key}' is not a status; the statuses are: {known}"
            ) from None
        if not isinstance(names, dict) or not all(
            isinstance(name, str) and name.strip() for name in names.values()
        ):
            raise StatusLabelsError(f"{path}: '{key}' needs names per language, like {{en: ...}}")
        labels[status].update({str(language): name.strip() for language, name in names.items()})
    return labels
