import random
import time
from collections import Counter

from django.core.management.base import BaseCommand, CommandError, CommandParser

from accounts.audit import Actor
from accounts.models import Organization
from billing import enforcement
from billing.models import Model
from workspaces import services as workspace_services
from workspaces.models import Workspace

# (model, share of requests, typical input tokens, typical max_tokens)
MIX = [
    ("claude-sonnet-4-5", 0.55, 6_000, 1_024),
    ("claude-haiku-4-5", 0.35, 2_000, 512),
    ("claude-opus-4-5", 0.10, 12_000, 2_048),
]


class Command(BaseCommand):
    help = (
        "Drive realistic traffic through the enforcement engine: several keys and models, "
        "authorized and settled, some refused by limits. Time is simulated: N minutes of "
        "traffic ending now are sent as fast as the engine answers."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--organization", required=True, help="The organization's name.")
        parser.add_argument(
            "--minutes", type=int, default=10, help="Minutes of traffic (1 to 1440)."
        )
        parser.add_argument(
            "--rps", type=float, default=2.0, help="Requests per second (0.01 to 200)."
        )
        parser.add_argument(
            "--keys", type=int, default=3, help="Keys per workspace to spread traffic over."
        )
        parser.add_argument(
            "--seed", type=int, default=None, help="Random seed, for repeatable runs."
        )

    def handle(
        self,
        *args,
        organization: str,
        minutes: int,
        rps: float,
        keys: int,
        seed: int | None,
        **options,
    ) -> None:
        if not 1 <= minutes <= 1440:
            raise CommandError("--minutes must be from 1 to 1440.")
        if not 0.01 <= rps <= 200:
            raise CommandError("--rps must be from 0.01 to 200.")
        if not 1 <= keys <= 20:
            raise CommandError("--keys must be from 1 to 20.")
        org = Organization.objects.filter(name__iexact=organization).first()
        if org is None:
            raise CommandError(f"No organization is named “{organization}”.")
        missing = [name for name, *_ in MIX if not Model.objects.filter(api_name=name).exists()]
        if missing:
            raise CommandError(f"The catalog lacks the models {', '.join(missing)}.")
        workspaces = list(Workspace.objects.filter(organization=org).active())
        actor = Actor.system("simulate_traffic command")
        # Secrets are shown only at creation, so the simulation makes keys of its own.
        secrets = []
        for workspace in workspaces:
            for index in range(keys):
                _key, secret = workspace_services.api_key_create(
                    actor=actor, workspace=workspace, name=f"traffic simulator {index + 1}"
                )
                secrets.append(secret)
        rng = random.Random(seed)
        total = int(minutes * 60 * rps)
        start = time.time() - minutes * 60
        outcomes: Counter[str] = Counter()
        for index in range(total):
            now = start + index / rps
            model, _share, input_typical, max_typical = rng.choices(
                MIX, weights=[m[1] for m in MIX]
            )[0]
            input_tokens = max(1, int(rng.lognormvariate(0, 0.6) * input_typical))
            max_tokens = max(1, int(max_typical * rng.choice([0.5, 1, 1, 2])))
            decision = enforcement.authorize(
                rng.choice(secrets), model, input_tokens, max_tokens, now=now
            )
            if not decision.admitted:
                outcomes[f"refused ({decision.limiter or decision.status})"] += 1
                continue
            outcomes["admitted"] += 1
            cached = int(input_tokens * rng.choice([0, 0, 0.5, 0.8]))
            enforcement.settle(
                decision.reservation_id,
                {
                    "input_tokens": input_tokens - cached,
                    "cache_read_input_tokens": cached,
                    "output_tokens": int(max_tokens * rng.uniform(0.1, 1.0)),
                },
                now=now,
            )
        self.stdout.write(f"Sent {total:,} requests over {minutes} simulated minutes:")
        for outcome, count in outcomes.most_common():
            self.stdout.write(f"  {outcome:<40} {count:,}")
