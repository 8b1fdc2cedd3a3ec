"""``agents``, ``distribute``, ``distributions``, ``assign``, ``mark`` and ``task-stats``."""

from __future__ import annotations

import argparse
from typing import Any, TextIO

from massreach.cli.arguments import iso_time
from massreach.cli.output import emit, key_values, table
from massreach.core.distribution import ProcessingStatus, Scope, parse_counts
from massreach.engine import Reach
from massreach.model import ContactQuery
from massreach.services.distribution import DistributionRequest


def add_commands(subparsers: Any) -> None:
    """Register the distribution commands."""
    agents = subparsers.add_parser("agents", help="list agents, or add / deactivate one")
    agents.add_argument("--json", action="store_true")
    agents.set_defaults(func=cmd_agents)
    agents_sub = agents.add_subparsers(dest="agents_command", metavar="ACTION")
    p = agents_sub.add_parser("add", help="add an agent (or update its name and weight)")
    p.add_argument("agent_id")
    p.add_argument("--name")
    p.add_argument("--weight", type=float, default=1.0)
    p.add_argument("--capacity", type=int, default=None)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_agents_add)
    p = agents_sub.add_parser("deactivate", help="stop giving an agent new records")
    p.add_argument("agent_id")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_agents_deactivate)

    p = subparsers.add_parser("distribute", help="distribute a task's records to agents")
    p.add_argument("list")
    how = p.add_mutually_exclusive_group(required=True)
    how.add_argument("--even", action="store_true", help="split evenly among --agents")
    how.add_argument("--counts", help="a number per agent: 6001=50,6002=30")
    how.add_argument("--weighted", action="store_true", help="in proportion to agent weights")
    p.add_argument("--agents", default="", help="agent ids, comma-separated (default: all active)")
    p.add_argument("--scope", choices=[s.value for s in Scope], default="unassigned")
    p.add_argument("--order", choices=["position", "priority"], default="position")
    p.add_argument("--partial", action="store_true", help="--counts: give what there is when short")
    p.add_argument("--at", type=iso_time, help="run at this time (a distribution plan)")
    p.add_argument("--user")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_distribute)

    p = subparsers.add_parser(
        "distributions", help="scheduled distribution plans, or run the due ones"
    )
    p.add_argument("action", nargs="?", choices=["run-due"])
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_distributions)

    p = subparsers.add_parser("assign", help="give records matching a condition to one agent")
    p.add_argument("list")
    p.add_argument("--agent", required=True)
    p.add_argument("--phone")
    p.add_argument("--name", help="part of the name")
    p.add_argument("--tag")
    p.add_argument("--status", choices=[s.value for s in ProcessingStatus])
    p.add_argument("--limit", type=int)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_assign)

    p = subparsers.add_parser("mark", help="record the processing status of a worked record")
    p.add_argument("contact_id", type=int)
    p.add_argument("status", choices=[s.value for s in ProcessingStatus])
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_mark)

    p = subparsers.add_parser(
        "task-stats", help="total, completed, assigned, unassigned, per agent"
    )
    p.add_argument("list")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_task_stats)


def _agent_rows(reach: Reach) -> list[dict[str, Any]]:
    return [
        {"id": a.id, "name": a.name, "active": a.active, "weight": a.weight, "capacity": a.capacity}
        for a in reach.distribution.agents()
    ]


def cmd_agents(reach: Reach, args: argparse.Namespace) -> int:
    """List agents."""
    rows = _agent_rows(reach)
    emit(
        args,
        rows,
        lambda out: table(
            out,
            ["id", "name", "active", "weight"],
            [[r["id"], r["name"], r["active"], r["weight"]] for r in rows],
        ),
    )
    return 0


def cmd_agents_add(reach: Reach, args: argparse.Namespace) -> int:
    """Add an agent."""
    agent = reach.distribution.add_agent(
        args.agent_id, name=args.name, weight=args.weight, capacity=args.capacity
    )
    emit(args, agent, lambda out: out.write(f"agent {agent.id} added (weight {agent.weight})\n"))
    return 0


def cmd_agents_deactivate(reach: Reach, args: argparse.Namespace) -> int:
    """Deactivate an agent."""
    agent = reach.distribution.deactivate_agent(args.agent_id)
    emit(args, agent, lambda out: out.write(f"agent {agent.id} deactivated\n"))
    return 0


def _request(args: argparse.Namespace) -> DistributionRequest:
    agents = tuple(a.strip() for a in args.agents.split(",") if a.strip())
    if args.counts:
        return DistributionRequest(
            list_name=args.list,
            mode="counts",
            counts=parse_counts(args.counts),
            scope=Scope(args.scope),
            order=args.order,
            allow_partial=args.partial,
        )
    return DistributionRequest(
        list_name=args.list,
        mode="even" if args.even else "weighted",
        agents=agents,
        scope=Scope(args.scope),
        order=args.order,
    )


def cmd_distribute(reach: Reach, args: argparse.Namespace) -> int:
    """Distribute now, or store a distribution plan for --at."""
    request = _request(args)
    if args.at is not None and args.at > reach.context.now():
        job = reach.distribution.schedule(request, at=args.at, created_by=args.user)
        scheduled = {"plan_id": job.id, "state": job.state.value, "run_at": job.run_at.isoformat()}
        emit(
            args,
            scheduled,
            lambda out: out.write(
                f"distribution plan {job.id} scheduled for {job.run_at.isoformat()}\n"
            ),
        )
        return 0
    result = reach.distribution.distribute(request)
    data: dict[str, Any] = {
        "list": result.list_name,
        "scope": result.scope.value,
        "assigned": result.assigned,
        "agents": {s.agent: s.count for s in result.shares},
    }

    def human(out: TextIO) -> None:
        out.write(
            f"distributed {result.assigned} records of {result.list_name} ({result.scope.value})\n"
        )
        table(out, ["agent", "records"], [[s.agent, s.count] for s in result.shares])

    emit(args, data, human)
    return 0


def cmd_distributions(reach: Reach, args: argparse.Namespace) -> int:
    """List distribution plans or run the due ones."""
    jobs = reach.distribution.run_due() if args.action == "run-due" else reach.distribution.plans()
    rows = [
        {
            "plan_id": j.id,
            "state": j.state.value,
            "run_at": j.run_at.isoformat(),
            "list": j.payload.get("list_name"),
            "result": j.result,
            "error": j.error,
        }
        for j in jobs
    ]
    emit(
        args,
        rows,
        lambda out: table(
            out,
            ["id", "list", "state", "run at", "error"],
            [[r["plan_id"], r["list"], r["state"], r["run_at"], r["error"]] for r in rows],
        ),
    )
    return 1 if any(j.state.value == "failed" for j in jobs) and args.action else 0


def cmd_assign(reach: Reach, args: argparse.Namespace) -> int:
    """Manual assignment by a condition."""
    phone = None
    if args.phone:
        from massreach.core.phones import PhoneNormalizer

        phone = PhoneNormalizer("VN").normalize(args.phone)
    query = ContactQuery(
        phone=phone,
        name_contains=args.name,
        tags=(args.tag,) if args.tag else (),
        status=ProcessingStatus(args.status) if args.status else None,
    )
    count = reach.distribution.assign(args.list, agent=args.agent, query=query, limit=args.limit)
    emit(
        args,
        {"list": args.list, "agent": args.agent, "assigned": count},
        lambda out: out.write(f"assigned {count} records of {args.list} to agent {args.agent}\n"),
    )
    return 0


def cmd_mark(reach: Reach, args: argparse.Namespace) -> int:
    """Mark a record worked."""
    contact = reach.distribution.mark(args.contact_id, ProcessingStatus(args.status))
    emit(
        args,
        {"contact_id": contact.id, "status": contact.status.value},
        lambda out: out.write(f"record {contact.id} is now {contact.status.value}\n"),
    )
    return 0


def cmd_task_stats(reach: Reach, args: argparse.Namespace) -> int:
    """Figures of a task."""
    stats = reach.distribution.stats(args.list)
    data = {
        "list": args.list,
        "total": stats.total,
        "completed": stats.completed,
        "assigned": stats.assigned,
        "unassigned": stats.unassigned,
        "agents": {
            a.agent: {"assigned": a.assigned, "worked": a.worked, "remaining": a.remaining}
            for a in stats.agents
        },
    }

    def human(out: TextIO) -> None:
        key_values(
            out,
            [
                ("total", stats.total),
                ("completed", stats.completed),
                ("assigned", stats.assigned),
                ("unassigned", stats.unassigned),
            ],
        )
        table(
            out,
            ["agent", "assigned", "worked", "remaining"],
            [[a.agent, a.assigned, a.worked, a.remaining] for a in stats.agents],
        )

    emit(args, data, human)
    return 0
