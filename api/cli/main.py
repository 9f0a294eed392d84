"""The `reviewflow` command."""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import Progress
from rich.table import Table

from api.cli import backup, erase, ops
from api.cli.common import actor_for as _actor_for
from api.cli.common import session as _session
from api.cli.errors import CliGroup, err
from api.cli.errors import fail_line as _fail_line
from engine import audit, calibration, jobs
from engine import demo as demo_seed
from engine.bpmn import sandbox_worker
from engine.core.errors import ReviewflowError
from engine.core.settings import get_settings
from engine.jobs import celery_app
from engine.ops import migrate as migrate_ops
from engine.ops import org_changes, participants
from engine.ops import replay as replay_ops
from engine.org import accounts, policy, signin, tokens
from engine.process import definitions, instance_check, timers
from engine.review import cycle_edit, cycles, launch_progress, release
from engine.review.cycles import get_cycle
from engine.store import schema, secret_key

app = typer.Typer(
    cls=CliGroup,
    help="Reviewflow: performance-review cycles as BPMN diagrams.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
people_app = typer.Typer(help="The org chart.", no_args_is_help=True)
account_app = typer.Typer(help="Logins and roles.", no_args_is_help=True)
token_app = typer.Typer(help="API bearer tokens.", no_args_is_help=True)
cycle_app = typer.Typer(help="Review cycles.", no_args_is_help=True)
audit_app = typer.Typer(help="The tamper-evident audit log.", no_args_is_help=True)
app.add_typer(people_app, name="people")
people_app.command("erase")(erase.people_erase)
app.add_typer(account_app, name="account")
app.add_typer(token_app, name="token")
app.add_typer(cycle_app, name="cycle")
calibration_app = typer.Typer(help="Calibration groups of a cycle.", no_args_is_help=True)
app.add_typer(calibration_app, name="calibration")
app.add_typer(audit_app, name="audit")
app.add_typer(ops.task_app, name="task")
app.add_typer(ops.instance_app, name="instance")
app.command("backup")(backup.backup)
app.command("restore")(backup.restore)

out = Console()
CLI_ACTOR = "system:cli"


@app.command()
def init() -> None:
    """Create or upgrade the database."""
    schema.upgrade()
    out.print(f"Database ready: {get_settings().database_url}")
    _audit_key()


def _audit_key() -> None:
    """Load the audit key, or create it on a log never signed; refuse (one line, exit 2) when it went missing."""
    with _session() as s:
        key = audit.prepare(s)
    out.print(f"Audit key: {key.path} (keep a backup; signs events from seq {key.keyed_from} on)", soft_wrap=True)


@people_app.command("import")
def people_import(
    file: Path,
    dry_run: Annotated[
        bool, typer.Option(help="show the changes and their effects on running reviews; save nothing")
    ] = False,
    deactivate_missing: Annotated[
        bool, typer.Option(help="deactivate active employees the file does not name")
    ] = False,
) -> None:
    """Import people from a UTF-8 CSV file; running reviews follow the changes (tasks move, leavers' reviews end)."""
    data = file.read_bytes()
    with _session() as s:
        done = org_changes.import_people(
            s, data=data, actor=CLI_ACTOR, dry_run=dry_run, deactivate_missing=deactivate_missing
        )
    result, effects = done["people"], done["effects"]
    out.print(
        f"created {result['created']}, updated {result['updated']}, unchanged {result['unchanged']}, "
        f"errors {len(result['errors'])}" + (f", deactivated {result['deactivated']}" if result["deactivated"] else "")
    )
    for e in result["errors"]:
        err.print(f"  line {e['row']}: {e['field']}: {e['message']}")
    if effects or dry_run:
        verb = "would change" if dry_run else "changed"
        out.print(f"running reviews: {verb} {len(effects)}", soft_wrap=True)
    for x in effects:
        task = f"task {x['task_id']}" if x["task_id"] is not None else "review"
        moved = f" {', '.join(x['from']) or '-'} -> {', '.join(x['to']) or '-'}"
        moved = "" if x["action"] == "cancel_instance" else moved
        out.print(escape(f"  instance {x['instance_id']} {task}: {x['action']}{moved} ({x['reason']})"), soft_wrap=True)
    if dry_run:
        out.print("dry run: nothing saved")
    if result["errors"] and not (result["created"] or result["updated"] or result["unchanged"]):
        raise typer.Exit(1)


ROLE_HELP = f"{', '.join(policy.ROLES[:-1])} or {policy.ROLES[-1]}"  # hr_admin, hr_partner, ... or designer


@account_app.command("create")
def account_create(
    email: str,
    role: Annotated[list[str] | None, typer.Option(help=ROLE_HELP)] = None,
    password_stdin: Annotated[bool, typer.Option(help="read the password from standard input")] = False,
) -> None:
    """Create or update a login (roles add up)."""
    password = sys.stdin.readline().rstrip("\n") if password_stdin else None
    with _session() as s:
        acc = accounts.create_account(s, email=email, roles=role or [], password=password, actor=CLI_ACTOR)
        out.print(f"account {email}: roles {', '.join(acc.roles) or '(employee)'}")


@account_app.command("roles")
def account_roles(
    email: str,
    add: Annotated[list[str] | None, typer.Option(help="a role to give (repeatable)")] = None,
    remove: Annotated[list[str] | None, typer.Option(help="a role to take away (repeatable)")] = None,
) -> None:
    """Show a login's roles, or add and remove some; a removed role stops working on the next request."""
    with _session() as s:
        acc = accounts.set_roles(s, email=email, add=add or [], remove=remove or [], actor=CLI_ACTOR)
        out.print(f"account {email}: roles {', '.join(acc.roles) or '(employee)'}")


@account_app.command("lockouts")
def account_lockouts() -> None:
    """Emails and client addresses locked now by failed sign-ins."""

    with _session() as s:
        locks = signin.lockouts(s)
    if not locks:
        out.print("no lockouts")
        return
    for lock in locks:
        until = lock.locked_until.strftime("%Y-%m-%d %H:%M:%S")
        print(f"{lock.kind:<8} {lock.key}  {lock.failures} failures, unlocks by itself at {until} UTC")


@account_app.command("unlock")
def account_unlock(
    email: Annotated[str | None, typer.Argument(help="the email whose failed sign-ins to forgive")] = None,
    address: Annotated[str | None, typer.Option(help="forgive the failed sign-ins from this client address")] = None,
) -> None:
    """Lift a sign-in lockout now: of an email, or with --address of a client address."""

    with _session() as s:
        cleared = signin.unlock(s, email=email, address=address, actor=CLI_ACTOR)
    out.print(f"unlocked {email or address} ({cleared} failed sign-ins forgiven)")


def _set_active(email: str, active: bool) -> None:
    with _session() as s:
        person, ended = accounts.set_active(s, email=email, active=active, actor=CLI_ACTOR)
        if active:
            out.print(f"{person.email} is active: they can sign in again")
        else:
            out.print(f"{person.email} is deactivated: {ended} sessions and tokens ended, signing in is refused")


@people_app.command("deactivate")
def people_deactivate(email: str) -> None:
    """End every session and token of a person at once and refuse their sign-ins (the record stays)."""
    _set_active(email, False)


@people_app.command("activate")
def people_activate(email: str) -> None:
    """Let a deactivated person sign in again (old sessions and tokens stay revoked)."""
    _set_active(email, True)


@token_app.command("create")
def token_create(
    email: str,
    hours: Annotated[
        int | None, typer.Option(help="lifetime, 1 to REVIEWFLOW_TOKEN_MAX_HOURS [default: REVIEWFLOW_API_TOKEN_HOURS]")
    ] = None,
    label: Annotated[str, typer.Option(help="what the token is for, shown by `token list`")] = "cli",
) -> None:
    """Print a bearer token for a person (last word of the output)."""
    with _session() as s:
        token = accounts.issue_token(s, email=email, hours=hours, label=label, actor=CLI_ACTOR)
    print(f"token for {email}: {token}")


@token_app.command("list")
def token_list(
    email: str, all_: Annotated[bool, typer.Option("--all", help="also revoked and expired ones")] = False
) -> None:
    """A person's bearer tokens and web sessions, newest first (live ones only unless --all)."""

    with _session() as s:
        found = [tokens.as_dict(t) for t in tokens.list_tokens(s, viewer=None, email=email)]
    shown = [t for t in found if all_ or t["status"] == "active"]
    if not shown:
        out.print(f"no {'' if all_ else 'live '}tokens for {email}")
        return
    print(f"{'id':>6}  {'kind':<8}{'status':<9}{'created':<18}{'expires':<18}{'last used':<18}label")
    for t in shown:
        created, expires, used = (
            (t[k] or "-")[:16].replace("T", " ") for k in ("created_at", "expires_at", "last_used_at")
        )
        print(f"{t['id']:>6}  {t['kind']:<8}{t['status']:<9}{created:<18}{expires:<18}{used:<18}{t['label']}")


@token_app.command("revoke")
def token_revoke(token_id: int) -> None:
    """Revoke a bearer token or web session by id (see `token list`); it stops working at once."""

    with _session() as s:
        token = tokens.revoke(s, token_id=token_id, viewer=None, actor=CLI_ACTOR)
        out.print(f"token {token.id} of {token.person.email} revoked")


@app.command()
def deploy(
    files: list[Path], as_: Annotated[str | None, typer.Option("--as", help="deploy as this account")] = None
) -> None:
    """Deploy diagrams (.bpmn/.dmn) with their form files (.json)."""
    contents = [(f.name, f.read_bytes()) for f in files]
    with _session() as s:
        d, created = definitions.deploy(s, actor=_actor_for(s, as_), files=contents)
        out.print(f"{d.key} version {d.version}" + ("" if created else " (unchanged)"))
        for w in d.warnings:
            err.print(f"[yellow]warning:[/yellow] {w['message']}")


@cycle_app.command("create")
def cycle_create(
    name: str,
    definition: str,
    participants: Annotated[str, typer.Option(help='"all", dept:Sales,Design or emails:a@x,b@x')] = "all",
    settings: Annotated[str | None, typer.Option(help="JSON object")] = None,
    as_: Annotated[str | None, typer.Option("--as")] = None,
) -> None:
    """Create a draft cycle."""
    spec: object = "all"
    if participants.startswith("dept:"):
        spec = {"departments": participants[5:].split(",")}
    elif participants.startswith("emails:"):
        spec = {"emails": participants[7:].split(",")}
    parsed = _settings_object(settings) if settings else None
    with _session() as s:
        c = cycles.create_cycle(
            s,
            actor=_actor_for(s, as_),
            name=name,
            definition=definition,
            participants=spec,
            settings=parsed,
        )
        out.print(f"cycle {c.id} created ({c.name})")


def _settings_object(settings: str) -> dict[str, Any]:
    try:
        parsed = json.loads(settings)
    except json.JSONDecodeError as exc:
        _fail_line(f"--settings is not valid JSON: {exc.msg} (column {exc.colno}).")
    if not isinstance(parsed, dict):
        _fail_line("--settings must be a JSON object.")
    return parsed


def _setting_changes(assignments: list[str], settings: str | None) -> dict[str, Any]:
    """The settings to change, from `--settings JSON` or `--set key.sub=value` (value as JSON, else text)."""
    if settings is not None and assignments:
        _fail_line("Give either --settings JSON or --set key=value, not both.")
    if settings is not None:
        return _settings_object(settings)
    changes: dict[str, Any] = {}
    for item in assignments:
        key, sep, raw = item.partition("=")
        path = [p for p in key.strip().split(".") if p]
        if not sep or not path:
            _fail_line(f"--set {item!r}: write key=value, e.g. --set score.formula='(goal + manager) / 2'.")
        try:
            value = json.loads(raw)
        except json.JSONDecodeError:
            value = raw
        node: Any = changes
        for part in path[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                _fail_line(f"--set {item!r}: {part} was already given a value.")
        node[path[-1]] = value
    if not changes:
        _fail_line("Nothing to change: give --set key=value (repeatable) or --settings JSON.")
    return changes


@cycle_app.command("settings")
def cycle_settings_change(
    cycle_id: int,
    set_: Annotated[list[str] | None, typer.Option("--set", help="key=value, e.g. pip_threshold=3; repeatable")] = None,
    settings: Annotated[str | None, typer.Option(help="the settings to change as one JSON object")] = None,
    as_: Annotated[str | None, typer.Option("--as")] = None,
) -> None:
    """Correct some settings of a cycle, also while it runs (checked as at create; audited before/after)."""
    changes = _setting_changes(set_ or [], settings)
    with _session() as s:
        try:
            c, warnings = cycle_edit.change_settings(s, actor=_actor_for(s, as_), cycle_id=cycle_id, changes=changes)
        except ReviewflowError as exc:
            _fail_line(exc)
        out.print(f"cycle {c.id} settings: {escape(json.dumps(c.settings, ensure_ascii=False))}", soft_wrap=True)
        for w in warnings:
            err.print(f"[yellow]warning:[/yellow] {escape(w)}")


@cycle_app.command("preflight")
def cycle_preflight(cycle_id: int) -> None:
    """What would go wrong at launch, per person."""
    with _session() as s:
        report = cycles.preflight(s, cycle_id=cycle_id)
    out.print(f"{report['ready']} of {report['population']} people ready")
    for p in report["problems"]:
        out.print(f"  {p['email']}: {'; '.join(p['problems'])}")
    for w in report["warnings"]:
        out.print(f"  [yellow]warning[/yellow] {w['email']}: {'; '.join(w['warnings'])}")


@cycle_app.command("launch")
def cycle_launch(
    cycle_id: int,
    as_: Annotated[str | None, typer.Option("--as")] = None,
    wait: Annotated[bool, typer.Option(help="show progress until the launch is done")] = True,
) -> None:
    """Launch a cycle: one instance per participant, in chunks on the workers (in-process without a broker)."""

    mode = jobs.default_mode("thread")
    with _session() as s:
        cycles.launch(s, actor=_actor_for(s, as_), cycle_id=cycle_id)
    if wait or mode != "celery":
        launch_progress.show(cycle_id, console=err)
    cycle_status(cycle_id)


@cycle_app.command("migrate")
def cycle_migrate(
    cycle_id: int,
    to_version: Annotated[int, typer.Option("--to-version", help="the version of the cycle's diagram to move to")],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="only list which reviews can move, and why not")] = False,
    as_: Annotated[str | None, typer.Option("--as")] = None,
) -> None:
    """Move the cycle's running reviews to another version of its diagram (each audited and revertible)."""
    mode = jobs.default_mode("thread")
    with _session() as s:
        try:
            report = migrate_ops.migrate_cycle(
                s, actor=_actor_for(s, as_).email, cycle_id=cycle_id, to_version=to_version, dry_run=dry_run
            )
        except ReviewflowError as exc:
            _fail_line(exc)
    for item in report["instances"]:
        verdict = "can migrate" if item["can_migrate"] else "; ".join(item["reasons"])
        out.print(f"  instance {item['instance_id']} ({item['subject']}, v{item['from_version']}): {escape(verdict)}")
    sm = report["summary"]
    out.print(
        f"{sm['can_migrate']} of {sm['instances']} can move to version {report['to_version']}, "
        f"{sm['already']} already there, {sm['cannot']} cannot" + ("" if dry_run else f"; {report['queued']} queued")
    )
    if not dry_run and mode != "celery":
        jobs.wait_idle()


@cycle_app.command("replay")
def cycle_replay(
    cycle_id: int,
    to_version: Annotated[int, typer.Option("--to-version", help="the version of the diagram to replay against")],
    as_json: Annotated[bool, typer.Option("--json", help="print the whole report as JSON")] = False,
) -> None:
    """What if the cycle's completed reviews had run on another version: path, final score, branches (nothing saved)."""
    with _session() as s:
        try:
            report = replay_ops.replay_cycle(s, cycle_id=cycle_id, to_version=to_version)
        except ReviewflowError as exc:
            _fail_line(exc)
        finally:
            s.rollback()
    if as_json:
        out.print_json(json.dumps(report, ensure_ascii=False, default=str))
        return
    table = Table(title=f"cycle {cycle_id}: replay against version {report['to_version']}")
    for col in ("instance", "subject", "path", "final score", "branch", "note"):
        table.add_column(col)
    for i in report["instances"]:
        score = f"{i['original']['final_score']} → {i['replay']['final_score']}" if i["score_differs"] else "same"
        branch = ", ".join([f"+{e}" for e in i["added_steps"]] + [f"-{e}" for e in i["missing_steps"]]) or "same"
        table.add_row(
            str(i["instance_id"]),
            str(i["subject"]),
            "differs" if i["path_differs"] else "same",
            score,
            branch,
            escape(i["stopped"] or ""),
        )
    out.print(table)
    sm = report["summary"]
    out.print(
        f"{sm['instances']} completed reviews: {sm['path_differs']} path differs, {sm['score_differs']} score differs, "
        f"{sm['branch_differs']} branch differs, {sm['stopped']} stopped, {sm['unchanged']} unchanged"
    )


@cycle_app.command("add")
def cycle_add(
    cycle_id: int,
    emails: Annotated[list[str], typer.Argument(help="the people to add")],
    as_: Annotated[str | None, typer.Option("--as")] = None,
    wait: Annotated[bool, typer.Option(help="show progress until their reviews are started")] = True,
) -> None:
    """Add people to a running cycle: their reviews start through the launch path (idempotent)."""

    mode = jobs.default_mode("thread")
    with _session() as s:
        result = participants.add(s, actor=_actor_for(s, as_), cycle_id=cycle_id, emails=emails)
    out.print(f"added {len(result['added'])}, already in {len(result['already'])}, starting {len(result['starting'])}")
    if wait or mode != "celery":
        launch_progress.show(cycle_id, console=err)
    cycle_status(cycle_id)


@cycle_app.command("release")
def cycle_release(cycle_id: int, as_: Annotated[str | None, typer.Option("--as")] = None) -> None:
    """Release results: reviews waiting for them move on to acknowledgement."""

    with _session() as s:
        result = release.release_results(s, actor=_actor_for(s, as_), cycle_id=cycle_id)
    out.print(
        f"released {result['released']}, not waiting for release {result['not_waiting']}, "
        f"failed {len(result['failed'])}"
    )
    for f in result["failed"]:
        err.print(f"  instance {f['instance_id']}: {f['problem']}")


@cycle_app.command("status")
def cycle_status(cycle_id: int) -> None:
    """A cycle's counts."""
    with _session() as s:
        c = cycles.get_cycle(s, cycle_id)
        table = Table(title=f"{c.name} — {c.status}")
        counts = cycles.counts(s, cycle_id)
        for k in counts:
            table.add_column(k)
        table.add_row(*[str(v) for v in counts.values()])
        out.print(table)
        for p in c.launch_problems or []:
            err.print(f"[yellow]not launched:[/yellow] {p['email']}: {p['problem']}")


@audit_app.command("verify")
def audit_verify() -> None:
    """Exit 0 when the audit chain is intact; exit 1 naming the first bad seq (2: the audit key is missing)."""
    with _session() as s:
        v = audit.verify(s)
    for note in v.notes:
        err.print(f"[yellow]note:[/yellow] {note}", soft_wrap=True)
    if v.ok:
        signed = v.checked - v.unkeyed
        anchored = f"; newest checkpoint seq {v.checkpoint_seq} at {v.checkpoint_at}" if v.checkpoint_seq else ""
        unkeyed = f" ({v.unkeyed} from before the audit key, checked unkeyed)" if v.unkeyed else ""
        redacted = f", {v.redacted} redacted (personal values erased)" if v.redacted else ""
        out.print(
            f"audit log intact: {v.checked} events checked, {signed} signed{unkeyed}{redacted}{anchored}",
            soft_wrap=True,
        )
        return
    print(
        f"audit log TAMPERED ({v.problem}): first bad seq {v.first_bad_seq} ({v.reason}); "
        f"{v.checked} events before it are intact"
    )
    raise typer.Exit(1)


def _check_instances(sample: int | None, *, quiet: bool) -> int:
    """Run the instance check with a progress bar; print each problem on one line; return how many there were."""

    with _session() as s, Progress(console=err, transient=True, disable=quiet) as bar:
        job = bar.add_task("Loading unfinished instances", total=None)
        report = instance_check.check_instances(
            s, sample=sample, progress=lambda done, total: bar.update(job, completed=done, total=total)
        )
    for problem in report.problems[:50]:
        err.print(f"[red]cannot carry on[/red] {problem.line()}", soft_wrap=True)
    if len(report.problems) > 50:
        err.print(f"... and {len(report.problems) - 50} more")
    if not quiet or report.problems:
        found = len(report.problems)
        out.print(f"{report.checked} of {report.unfinished} unfinished instances checked, {found} problems")
    return len(report.problems)


@app.command()
def check(
    all_: Annotated[bool, typer.Option("--all", help="every unfinished instance, not a sample per diagram")] = False,
) -> None:
    """Load and dry-step unfinished instances with this version's code and diagrams; exit 1 naming any that fail."""
    schema.upgrade()
    sample = None if all_ else get_settings().startup_check_sample
    if _check_instances(sample, quiet=False):
        raise typer.Exit(1)


@app.command()
def serve(host: str = "127.0.0.1", port: int = 8000) -> None:
    """Serve the API and pages (with the in-process job worker when no broker is set)."""
    _serve(host, port, demo=False)


def _serve(host: str, port: int, *, demo: bool) -> None:
    # the web stack and Celery are imported by the commands that use them, not by every command (startup time)
    import uvicorn

    from api.app import create_app

    key_file = secret_key.check_for_serving(demo=demo)
    if key_file is not None and not get_settings().database_url.startswith("sqlite"):
        err.print(
            f"Session key: {key_file.resolve()} (several servers must share it: set REVIEWFLOW_SECRET_KEY_FILE to one "
            "shared file, or REVIEWFLOW_SECRET_KEY)."
        )
    schema.upgrade()
    _audit_key()
    mode = get_settings().startup_check
    if mode != "off" and _check_instances(None if mode == "all" else get_settings().startup_check_sample, quiet=True):
        err.print(
            "Refusing to serve: the instances above cannot be carried on by this version, and answers given to them "
            "would be lost. Run `reviewflow check --all`, fix or restore them, or set REVIEWFLOW_STARTUP_CHECK=off."
        )
        raise typer.Exit(1)
    if jobs.default_mode("thread") == "thread":
        timers.start_ticker()  # embedded: no beat, so this process ticks timers, reminders and mail itself
    sandbox_worker.warm()  # author code runs in these processes; start them before the first request needs one
    uvicorn.run(
        create_app(),
        host=host,
        port=port,
        log_level="info",
        proxy_headers=True,
        forwarded_allow_ips=get_settings().trusted_proxies,
    )


@app.command()
def worker(
    concurrency: Annotated[int, typer.Option(help="jobs run at once in this worker")] = 2,
    pool: Annotated[str, typer.Option(help="prefork, threads or solo")] = "prefork",
    beat: Annotated[bool, typer.Option(help="also run the beat scheduler in this worker (one per deployment)")] = False,
) -> None:
    """Run a Celery worker for jobs (needs REVIEWFLOW_BROKER_URL and a shared database, e.g. PostgreSQL)."""
    argv = ["worker", "--loglevel=INFO", f"--concurrency={concurrency}", f"--pool={pool}"]
    argv += ["-Q", get_settings().queue] + (["--beat", "--schedule", _beat_file()] if beat else [])
    celery_app.get_app().worker_main(argv)


@app.command()
def beat() -> None:
    """Run the Celery beat scheduler: sends `tick` every REVIEWFLOW_TICK_SECONDS (run exactly one)."""
    celery_app.get_app().start(["beat", "--loglevel=INFO", "--schedule", _beat_file()])


def _beat_file() -> str:

    return str(Path(tempfile.gettempdir()) / f"reviewflow-beat-{get_settings().queue}")


@app.command()
def tick() -> None:
    """Queue whatever is due now (timers, reminders, unsent mail, stalled launch chunks) once, and exit."""

    if jobs.default_mode("inline") == "thread":
        jobs.set_mode("inline")
    with _session() as s:
        queued = timers.tick(s)
    out.print(", ".join(f"{k} {v}" for k, v in queued.items()))


@app.command()
def demo(
    host: str = "127.0.0.1",
    port: int = 8000,
    no_serve: Annotated[bool, typer.Option(help="seed only, do not serve")] = False,
) -> None:
    """Init + sample org + shipped workflows + a launched cycle, then serve."""

    schema.upgrade()
    jobs.set_mode("inline")
    with _session() as s:
        info = demo_seed.seed(s)
    base = f"http://{host}:{port}"
    out.print(f"\n[bold]Reviewflow demo[/bold] — cycle {info['cycle_id']} launched for {info['population']} people.")
    out.print(f"API docs: {base}/docs")
    out.print(f"Web pages: {base}/  (sign in with any demo email; password [bold]{info['password']}[/bold])")
    out.print(f"Web login password for every account below: [bold]{info['password']}[/bold]")
    out.print("Ready-to-use bearer tokens (valid 7 days):")
    for who, email, token in info["logins"]:
        print(f"  {who:<17} {email:<26} {token}")
    print(f'Try: curl -H "Authorization: Bearer {info["logins"][0][2]}" {base}/api/tasks')
    if not no_serve:
        _serve(host, port, demo=True)


def _selector(department: str | None, subtree: str | None, people: str | None) -> dict[str, Any]:
    given = {k: v for k, v in (("department", department), ("subtree", subtree), ("people", people)) if v}
    if len(given) != 1:
        err.print("[red]Error:[/red] choose the group with exactly one of --department, --subtree or --people.")
        raise typer.Exit(2)
    kind, value = next(iter(given.items()))
    return {kind: [e.strip() for e in value.split(",") if e.strip()] if kind == "people" else value}


@calibration_app.command("create")
def calibration_create(
    cycle_id: int,
    name: str,
    facilitator: Annotated[str, typer.Option(help="who runs the session (email)")],
    committee: Annotated[str, typer.Option(help="who signs off, comma-separated emails")],
    department: Annotated[str | None, typer.Option(help="everyone of the cycle in this department")] = None,
    subtree: Annotated[str | None, typer.Option(help="everyone of the cycle below this manager (email)")] = None,
    people: Annotated[str | None, typer.Option(help="these people, comma-separated emails")] = None,
    as_: Annotated[str | None, typer.Option("--as")] = None,
) -> None:
    """Create a calibration group; it opens by itself once every member's manager review is in."""

    selector = _selector(department, subtree, people)
    with _session() as s:
        group = calibration.create_group(
            s,
            actor=_actor_for(s, as_),
            cycle_id=cycle_id,
            name=name,
            selector=selector,
            facilitator=facilitator,
            committee=[e.strip() for e in committee.split(",") if e.strip()],
        )
        out.print(f"calibration group {group.id} created ({group.name}, {len(group.members)} people, {group.status})")


@calibration_app.command("list")
def calibration_list(cycle_id: int) -> None:
    """The cycle's calibration groups, and who is in none."""

    with _session() as s:
        groups = calibration.groups_of(s, cycle_id)
        missing = calibration.ungrouped(s, get_cycle(s, cycle_id))
        table = Table("id", "name", "people", "status")
        for g in groups:
            table.add_row(str(g.id), g.name, str(len(g.members)), g.status)
        out.print(table)
    if missing:
        out.print(f"[yellow]in no group ({len(missing)}):[/yellow] {', '.join(missing)}")


@calibration_app.command("open")
def calibration_open(group_id: int, as_: Annotated[str | None, typer.Option("--as")] = None) -> None:
    """Open a session now, before every manager review is in."""

    with _session() as s:
        group = calibration.open_group(s, actor=_actor_for(s, as_), group_id=group_id)
        out.print(f"calibration group {group.id} is {group.status}")
