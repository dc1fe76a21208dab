"""The client index: agencies' source records, the clusters that link them to one person,
the stored linkage models, the runs, the clerical review and every change of a cluster.

A cluster's `key` is the stable id of a person across the silos: a rerun keeps it unless a
merge or split is decided, and every change of membership is a `ClusterChange` saying why.
Source records hold identifiers only encrypted (identity's Fernet keys) and as identity's
keyed blind index; the linkage reads the index, never the value.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class Load(models.Model):
    """One submission of client records by an agency (a file or an API batch)."""

    class Channel(models.TextChoices):
        FILE = "file", _("File")
        API = "api", _("API")

    agency = models.ForeignKey(
        "federation.Agency", verbose_name=_("agency"), on_delete=models.PROTECT, related_name="+"
    )
    channel = models.CharField(
        pgettext_lazy("client index", "channel"), max_length=8, choices=Channel.choices
    )
    name = models.CharField(_("file or batch"), max_length=200, blank=True)
    partial = models.BooleanField(_("partial load allowed"), default=False)
    received = models.PositiveIntegerField(_("rows received"), default=0)
    created = models.PositiveIntegerField(_("records added"), default=0)
    updated = models.PositiveIntegerField(_("records changed"), default=0)
    unchanged = models.PositiveIntegerField(_("records already known"), default=0)
    rejected = models.PositiveIntegerField(_("rows refused"), default=0)
    errors = models.JSONField(_("errors"), default=list, blank=True)
    loaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("loaded by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    loaded_at = models.DateTimeField(pgettext_lazy("client index", "loaded at"), auto_now_add=True)

    class Meta:
        verbose_name = _("client list load")
        verbose_name_plural = _("client list loads")
        ordering = ["-loaded_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.agency_id} {self.channel} {self.loaded_at:%Y-%m-%d %H:%M}"


class Cluster(models.Model):
    """One person as the index knows them: the agency records linked together.

    `key` is the stable id shown to people and partners. A cluster merged into another is
    kept (retired, `merged_into` set) so that anything holding its key still resolves.
    """

    key = models.CharField(_("client index id"), max_length=16, unique=True)
    person = models.ForeignKey(
        "identity.Person",
        verbose_name=_("person"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="index_clusters",
    )
    merged_into = models.ForeignKey(
        "self",
        verbose_name=_("merged into"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="absorbed",
    )
    created_at = models.DateTimeField(
        pgettext_lazy("client index", "created at"), auto_now_add=True
    )
    retired_at = models.DateTimeField(_("retired at"), null=True, blank=True)

    class Meta:
        verbose_name = _("linked person")
        verbose_name_plural = _("linked people")
        ordering = ["key"]

    def __str__(self) -> str:
        return self.key


class SourceRecord(models.Model):
    """One client of one agency, as the agency sent it, with its comparable columns."""

    agency = models.ForeignKey(
        "federation.Agency",
        verbose_name=_("agency"),
        on_delete=models.PROTECT,
        related_name="index_records",
    )
    record_id = models.CharField(_("agency's record id"), max_length=64)
    given_names = models.CharField(_("given names"), max_length=200, blank=True)
    family_name = models.CharField(_("family name"), max_length=200)
    birth_date = models.DateField(_("birth date"), null=True, blank=True)
    sex = models.CharField(_("sex"), max_length=1, blank=True)
    street_address = models.CharField(_("street address"), max_length=200, blank=True)
    locality = models.CharField(_("city or town"), max_length=100, blank=True)
    postal_code = models.CharField(_("postal code"), max_length=20, blank=True)
    phone = models.CharField(_("phone"), max_length=40, blank=True)
    email = models.CharField(_("email address"), max_length=254, blank=True)
    identifier_kind = models.CharField(_("identifier kind"), max_length=32, blank=True)
    identifier_ciphertext = models.TextField(_("encrypted identifier"), blank=True, editable=False)
    identifier_index = models.CharField(
        _("identifier blind index"), max_length=64, blank=True, db_index=True, editable=False
    )
    #: A digest of everything above: a resubmission with the same digest changes nothing.
    digest = models.CharField(max_length=64, editable=False)
    cluster = models.ForeignKey(
        Cluster,
        verbose_name=_("linked person"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="records",
    )
    load = models.ForeignKey(
        Load, verbose_name=_("load"), null=True, on_delete=models.SET_NULL, related_name="+"
    )
    loaded_at = models.DateTimeField(pgettext_lazy("client index", "loaded at"), auto_now=True)

    class Meta:
        verbose_name = _("source record")
        verbose_name_plural = _("source records")
        ordering = ["agency", "record_id"]
        constraints = [
            models.UniqueConstraint(fields=["agency", "record_id"], name="source_record_once"),
        ]

    def __str__(self) -> str:
        return f"{self.agency_id}:{self.record_id}"

    def __repr__(self) -> str:
        return f"<SourceRecord {self.pk} of agency {self.agency_id}>"


class LinkageModel(models.Model):
    """A trained Splink model (its settings JSON with m and u), versioned, with thresholds."""

    version = models.PositiveIntegerField(_("version"), unique=True)
    splink_version = models.CharField(_("Splink version"), max_length=16)
    settings_json = models.JSONField(_("trained model"))
    match_weight = models.FloatField(
        _("link at or above (match weight)"),
        help_text=_("Pairs at or above this weight are linked without review."),
    )
    review_weight = models.FloatField(
        _("review at or above (match weight)"),
        help_text=_("Pairs between this weight and the link weight go to clerical review."),
    )
    records_used = models.PositiveIntegerField(_("records trained on"), default=0)
    labels_used = models.PositiveIntegerField(_("reviewed pairs used"), default=0)
    trained_at = models.DateTimeField(_("trained at"), auto_now_add=True)
    trained_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("trained by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        verbose_name = _("linkage model")
        verbose_name_plural = _("linkage models")
        ordering = ["-version"]

    def __str__(self) -> str:
        return f"v{self.version}"


class LinkRun(models.Model):
    """One linking run: the whole index, or new records against the existing clusters."""

    class Kind(models.TextChoices):
        FULL = "full", _("Whole index")
        INCREMENTAL = "incremental", _("New records")

    model = models.ForeignKey(
        LinkageModel, verbose_name=_("model"), on_delete=models.PROTECT, related_name="runs"
    )
    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices)
    records = models.PositiveIntegerField(pgettext_lazy("client index", "records"), default=0)
    pairs = models.PositiveIntegerField(_("pairs scored"), default=0)
    linked_pairs = models.PositiveIntegerField(_("pairs linked"), default=0)
    review_pairs = models.PositiveIntegerField(_("pairs sent to review"), default=0)
    clusters = models.PositiveIntegerField(_("people"), default=0)
    changes = models.PositiveIntegerField(_("ids changed"), default=0)
    seconds = models.FloatField(_("seconds"), default=0)
    started_at = models.DateTimeField(
        pgettext_lazy("client index", "started at"), auto_now_add=True
    )

    class Meta:
        verbose_name = _("linking run")
        verbose_name_plural = _("linking runs")
        ordering = ["-started_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.kind} {self.started_at:%Y-%m-%d %H:%M}"


class ReviewPair(models.Model):
    """A pair in the band between the two thresholds, waiting for (or given) a person's word."""

    class Status(models.TextChoices):
        OPEN = "open", _("Waiting for review")
        MATCH = "match", _("Same person")
        NOT_MATCH = "not_match", _("Not the same person")

    left = models.ForeignKey(
        SourceRecord, verbose_name=_("record"), on_delete=models.CASCADE, related_name="+"
    )
    right = models.ForeignKey(
        SourceRecord, verbose_name=_("other record"), on_delete=models.CASCADE, related_name="+"
    )
    match_weight = models.FloatField(_("match weight"))
    match_probability = models.FloatField(_("match probability"))
    #: [{"comparison": ..., "level": ..., "weight": ...}] from the model's waterfall.
    contributions = models.JSONField(_("what each comparison contributed"), default=list)
    status = models.CharField(
        _("status"), max_length=12, choices=Status.choices, default=Status.OPEN
    )
    run = models.ForeignKey(
        LinkRun, verbose_name=_("run"), null=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("decided by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    note = models.CharField(_("note"), max_length=500, blank=True)

    class Meta:
        verbose_name = _("pair for review")
        verbose_name_plural = _("pairs for review")
        ordering = ["status", "-match_weight", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["left", "right"], name="review_pair_once"),
            models.CheckConstraint(
                condition=models.Q(left__lt=models.F("right")), name="pair_ordered"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.left_id}–{self.right_id} ({self.status})"


class Decision(models.Model):
    """A merge or a split decided by a data steward (or undone): who, when, why, and what moved
    so that it can be reversed exactly."""

    class Kind(models.TextChoices):
        MERGE = "merge", _("Merge")
        SPLIT = "split", _("Split")

    kind = models.CharField(_("kind"), max_length=8, choices=Kind.choices)
    cluster = models.ForeignKey(
        Cluster, verbose_name=_("kept person"), on_delete=models.PROTECT, related_name="+"
    )
    other = models.ForeignKey(
        Cluster,
        verbose_name=_("merged or new person"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    #: Source record ids that moved from `other` to `cluster` (merge) or back (split).
    moved = models.JSONField(_("records moved"), default=list)
    reason = models.CharField(_("why"), max_length=500)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("decided by"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    decided_at = models.DateTimeField(_("decided at"), auto_now_add=True)
    undone_at = models.DateTimeField(_("undone at"), null=True, blank=True)
    undone_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("undone by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    undo_reason = models.CharField(_("why undone"), max_length=500, blank=True)

    class Meta:
        verbose_name = _("merge or split")
        verbose_name_plural = _("merges and splits")
        ordering = ["-decided_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.kind} {self.cluster_id}/{self.other_id}"


class ClusterChange(models.Model):
    """Why a record's client index id changed: a run or a decision says so, record by record."""

    class Reason(models.TextChoices):
        NEW = "new", _("New person")
        JOINED = "joined", _("Linked to an existing person")
        MERGED = "merged", _("Two people found to be one")
        SPLIT = "split", _("One person found to be two")
        UNDONE = "undone", _("A merge or split was undone")

    record = models.ForeignKey(
        SourceRecord, verbose_name=_("record"), on_delete=models.CASCADE, related_name="changes"
    )
    old_key = models.CharField(_("old id"), max_length=16, blank=True)
    new_key = models.CharField(_("new id"), max_length=16)
    reason = models.CharField(_("why"), max_length=8, choices=Reason.choices)
    run = models.ForeignKey(
        LinkRun,
        verbose_name=_("run"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    decision = models.ForeignKey(
        Decision,
        verbose_name=_("decision"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    at = models.DateTimeField(_("when"), auto_now_add=True)

    class Meta:
        verbose_name = _("change of id")
        verbose_name_plural = _("changes of id")
        ordering = ["-at", "-pk"]

    def __str__(self) -> str:
        return f"{self.record_id}: {self.old_key or '-'} → {self.new_key}"


class PersonAlias(models.Model):
    """A person record merged into another by a decision: the old id still resolves."""

    person = models.OneToOneField(
        "identity.Person",
        verbose_name=_("merged person"),
        on_delete=models.PROTECT,
        related_name="index_alias",
    )
    resolves_to = models.ForeignKey(
        "identity.Person", verbose_name=_("now"), on_delete=models.PROTECT, related_name="+"
    )
    decision = models.ForeignKey(
        Decision,
        verbose_name=_("decision"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="aliases",
    )
    run = models.ForeignKey(
        LinkRun,
        verbose_name=_("run"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        verbose_name = _("merged person")
        verbose_name_plural = _("merged people")

    def __str__(self) -> str:
        return f"{self.person_id} → {self.resolves_to_id}"


class CorrectionRequest(models.Model):
    """A person asking that the index's links about them be checked and corrected."""

    class Status(models.TextChoices):
        OPEN = "open", _("Received")
        CLOSED = "closed", _("Answered")

    person = models.ForeignKey(
        "identity.Person",
        verbose_name=_("person"),
        on_delete=models.CASCADE,
        related_name="index_corrections",
    )
    agency = models.ForeignKey(
        "federation.Agency",
        verbose_name=_("agency"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Outcome(models.TextChoices):
        ACCEPTED = "accepted", _("Accepted: the links were corrected")
        DECLINED = "declined", pgettext_lazy("client index", "Declined")

    message = models.TextField(_("what is wrong"), max_length=2000)
    status = models.CharField(
        _("status"), max_length=8, choices=Status.choices, default=Status.OPEN
    )
    created_at = models.DateTimeField(pgettext_lazy("client index", "sent at"), auto_now_add=True)
    outcome = models.CharField(
        pgettext_lazy("client index", "outcome"), max_length=8, choices=Outcome.choices, blank=True
    )
    #: The steward's answer, which the person reads in My services.
    answer = models.TextField(_("answer"), max_length=2000, blank=True)
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("answered by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    answered_at = models.DateTimeField(_("answered at"), null=True, blank=True)
    #: The merges and splits the answer made (each reversible like any other).
    decisions = models.ManyToManyField(
        Decision, verbose_name=_("merges and splits made"), blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("correction request")
        verbose_name_plural = _("correction requests")
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.person_id} {self.created_at:%Y-%m-%d}"
