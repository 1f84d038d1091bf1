"""The parts every command shares, once ``open_runtime`` has wired them."""

from __future__ import annotations

from dataclasses import dataclass

from bot.delivery.worker import DeliveryWorker
from bot.metrics import Metrics
from handlers.campaigns.desk import CampaignDesk
from handlers.dialogue.dialogue import Dialogue
from handlers.dialogue.trial import FlowTrials
from handlers.ideas.desk import IdeaDesk
from handlers.ideas.digest import DigestDesk
from handlers.ideas.reminders import Reminders
from handlers.ideas.report import ReportDesk
from handlers.ports import FlowLibrary
from handlers.privacy.desk import PrivacyDesk, RetentionSweep
from handlers.staff.desk import StaffDesk
from storage.dead_letters import SqlDeadLetters
from storage.dialogue.store import SqlDialogueStore
from storage.event_queue import SqlEventQueue
from storage.flows.catalog import SqlFlowCatalog
from storage.flows.progress import SqlFlowProgress
from storage.flows.stats import SqlFlowStats
from storage.idea_queries import IdeaCatalog


@dataclass(frozen=True, slots=True)
class Runtime:
    """The parts every command shares, wired and ready."""

    metrics: Metrics
    dialogue: Dialogue
    trials: FlowTrials
    worker: DeliveryWorker
    staff_desk: StaffDesk | None
    idea_desk: IdeaDesk
    ideas: IdeaCatalog
    flows: SqlFlowCatalog
    library: FlowLibrary
    # The funnels of flow versions, and the conversations under way in each.
    flow_stats: SqlFlowStats
    flow_progress: SqlFlowProgress
    # The dialogue's store, for answers an edge queues itself (an admin's flow stats).
    store: SqlDialogueStore
    events: SqlEventQueue
    dead_letters: SqlDeadLetters
    reminders: Reminders
    digest: DigestDesk
    privacy: PrivacyDesk
    retention: RetentionSweep
    campaigns: CampaignDesk
    report: ReportDesk
