"""moto's gaps for a Terraform apply, re-plan and destroy (hashicorp/aws 5.100, moto 5.2),
patched in the moto server's process (support.moto_process). Each works around a moto
bug, not a product one; support.moto_patches holds those of `chalice deploy`:

- a bucket policy's Condition is not evaluated, so the state bucket's TLS-only Deny
  (``aws:SecureTransport`` false) denies every object request: conditional statements are
  left out, as if every request came over TLS (as Terraform's do in AWS);
- Budgets has no DescribeSubscribersForNotification and no ListTagsForResource: the
  provider reads a budget's subscribers and tags with them (and retries until its create
  timeout without them);
- a DB instance forgets EnablePerformanceInsights and its retention, and a parameter group
  returns its modified parameters without ``Source: user`` (the provider keeps only those):
  both read back as a change on every plan;
- an ElastiCache cluster is read back without its SecurityGroups and, for memcached,
  without its ConfigurationEndpoint; DeleteCacheCluster only marks it "deleting" (a destroy
  waits forever) and DeleteCacheSubnetGroup does not exist;
- a security group rule that names a group reads back without its Description;
- a REST API's ``add /binaryMediaTypes/<type>`` takes the type from the (absent) value
  instead of the path, so ``*/*`` reads back as ``""``;
- SQS returns RedrivePolicy and Policy with ``json.dumps``'s spaces, where AWS returns the
  JSON as it was set: a "whitespace change" on every plan.
"""

from __future__ import annotations

import json
from typing import Any

_APPLIED: list[bool] = []


def _patch_bucket_policy_conditions() -> None:
    from moto.iam.access_control import IAMPolicy, PermissionResult
    from moto.s3.models import FakeBucket

    def get_permission(self: Any, action: str, resource: str) -> Any:
        if self.policy is None:
            return PermissionResult.NEUTRAL
        policy = json.loads(self.policy.decode())
        statements = policy.get("Statement", [])
        statements = [statements] if isinstance(statements, dict) else statements
        policy["Statement"] = [s for s in statements if "Condition" not in s]
        return IAMPolicy(json.dumps(policy)).is_action_permitted(action, resource)

    FakeBucket.get_permission = get_permission  # type: ignore[method-assign]


def _patch_budget_subscribers() -> None:
    from moto.budgets.responses import BudgetsResponse

    def same(stored: dict[str, Any], asked: dict[str, Any]) -> bool:
        keys = ("NotificationType", "ComparisonOperator", "ThresholdType")
        return all(stored.get(k) == asked.get(k) for k in keys) and float(
            stored.get("Threshold", 0)
        ) == float(asked.get("Threshold", 0))

    def describe_subscribers_for_notification(self: Any) -> str:
        budget = self.backend.budgets[self._get_param("AccountId")][self._get_param("BudgetName")]
        asked = self._get_param("Notification")
        found = [n.subscribers for n in budget.notifications if same(n.details, asked)]
        return json.dumps({"Subscribers": found[0] if found else []})

    def list_tags_for_resource(self: Any) -> str:
        return json.dumps({"ResourceTags": []})  # a budget of ours has no tags

    BudgetsResponse.describe_subscribers_for_notification = (  # type: ignore[attr-defined]
        describe_subscribers_for_notification
    )
    BudgetsResponse.list_tags_for_resource = list_tags_for_resource  # type: ignore[attr-defined]


def _patch_rds() -> None:
    from moto.rds.models import DBInstance, DBParameterGroup

    original_init = DBInstance.__init__
    original_update = DBParameterGroup.update_parameters

    def init(self: Any, *args: Any, **kwargs: Any) -> None:
        original_init(self, *args, **kwargs)
        self.performance_insights_enabled = bool(kwargs.get("enable_performance_insights"))
        self.performance_insights_retention_period = kwargs.get(
            "performance_insights_retention_period"
        )

    def update_parameters(self: Any, new_parameters: Any) -> None:
        original_update(self, [{**p, "Source": "user"} for p in new_parameters])

    DBInstance.__init__ = init  # type: ignore[method-assign]
    DBParameterGroup.update_parameters = update_parameters  # type: ignore[method-assign]


def _patch_elasticache() -> None:
    from moto.core.responses import EmptyResult
    from moto.elasticache.models import CacheCluster, ElastiCacheBackend
    from moto.elasticache.responses import ElastiCacheResponse

    original_init = CacheCluster.__init__

    def init(self: Any, *args: Any, **kwargs: Any) -> None:
        original_init(self, *args, **kwargs)
        self.security_groups = [
            {"SecurityGroupId": group, "Status": "active"} for group in self.security_group_ids
        ]
        if self.engine == "memcached":
            address = f"{self.cache_cluster_id}.abc123.cfg.use1.cache.amazonaws.com"
            self.configuration_endpoint = {"Address": address, "Port": self.port}

    def delete_cache_cluster(self: Any, cache_cluster_id: str) -> Any:
        from moto.elasticache.exceptions import CacheClusterNotFound

        if cache_cluster_id not in self.cache_clusters:
            raise CacheClusterNotFound(cache_cluster_id)
        cluster = self.cache_clusters.pop(cache_cluster_id)
        cluster.cache_cluster_status = "deleting"
        return cluster

    def delete_cache_subnet_group(self: Any) -> Any:
        backend = self.elasticache_backend
        backend.cache_subnet_groups.pop(self._get_param("CacheSubnetGroupName"), None)
        return EmptyResult()

    CacheCluster.__init__ = init  # type: ignore[method-assign]
    ElastiCacheBackend.delete_cache_cluster = delete_cache_cluster  # type: ignore[method-assign]
    ElastiCacheResponse.delete_cache_subnet_group = (  # type: ignore[attr-defined]
        delete_cache_subnet_group
    )


def _patch_security_group_rule_description() -> None:
    from moto.ec2.models.security_groups import SecurityGroupRule

    def description(self: Any) -> str | None:
        found = self.ip_range.get("Description") or self.source_group.get("Description")
        return str(found) if found else None

    SecurityGroupRule.description = property(description)  # type: ignore[assignment,method-assign]


def _patch_binary_media_types() -> None:
    from moto.apigateway.models import RestAPI

    original = RestAPI.apply_patch_operations
    prefix = "/binaryMediaTypes/"

    def apply_patch_operations(self: Any, patch_operations: list[dict[str, Any]]) -> None:
        rest = []
        for op in patch_operations:
            path = op.get("path", "")
            if not path.startswith(prefix) or op.get("op") not in ("add", "remove"):
                rest.append(op)
                continue
            media_type = path[len(prefix) :].replace("~1", "/").replace("~0", "~")
            if op["op"] == "add" and media_type not in self.binaryMediaTypes:
                self.binaryMediaTypes.append(media_type)
            elif op["op"] == "remove" and media_type in self.binaryMediaTypes:
                self.binaryMediaTypes.remove(media_type)
        original(self, rest)

    RestAPI.apply_patch_operations = apply_patch_operations  # type: ignore[method-assign]


def _patch_sqs_json() -> None:
    from moto.sqs.models import Queue

    original: Any = vars(Queue)["attributes"].fget

    def compact(value: Any) -> str:
        return json.dumps(value, separators=(",", ":"))

    def attributes(self: Any) -> dict[str, Any]:
        result: dict[str, Any] = original(self)
        if result.get("RedrivePolicy") is not None:
            result["RedrivePolicy"] = compact(self.redrive_policy)
        if result.get("Policy") is not None:
            result["Policy"] = compact(self._policy_json)
        return result

    setattr(Queue, "attributes", property(attributes))  # noqa: B010 - a property, patched


def apply() -> None:
    """Patch moto in this process (idempotent)."""
    if _APPLIED:
        return
    _patch_bucket_policy_conditions()
    _patch_budget_subscribers()
    _patch_rds()
    _patch_elasticache()
    _patch_security_group_rule_description()
    _patch_binary_media_types()
    _patch_sqs_json()
    _APPLIED.append(True)
