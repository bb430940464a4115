# memcached pinned to ONE node, as on the CloudFormation path: the app uses the
# configuration endpoint as a single server (no node discovery), so a second node would
# get no traffic. Losing it costs cache misses, never data (docs/deploy.md).
resource "aws_elasticache_subnet_group" "main" {
  name        = "textfiles-${var.stage}"
  description = "textfiles private subnets"
  subnet_ids  = aws_subnet.private[*].id
}

resource "aws_elasticache_cluster" "main" {
  cluster_id                 = "textfiles-${var.stage}"
  engine                     = "memcached"
  node_type                  = var.cache_node_type
  num_cache_nodes            = 1
  port                       = 11211
  subnet_group_name          = aws_elasticache_subnet_group.main.name
  security_group_ids         = [aws_security_group.cache.id]
  auto_minor_version_upgrade = true
}
