# RDS Proxy between the functions and PostgreSQL (the CloudFormation path's DatabaseProxy):
# TLS required, IAM authentication required, its only client the functions' security group,
# its only destination the database. The functions log in as textfiles_app with an IAM
# token per connection (chalicelib/aws/rds_token.py); the proxy logs in to PostgreSQL with
# that role's secret, through a role of its own.

locals {
  # max_connections of RDS PostgreSQL, LEAST(DBInstanceClassMemory / 9531392, 5000), for the
  # classes docs/scale.md names; an unknown class gets the smallest (the safe side).
  database_max_connections = lookup({
    "db.t4g.micro"   = 81
    "db.t4g.small"   = 189
    "db.t4g.medium"  = 405
    "db.t4g.large"   = 823
    "db.r7g.large"   = 1650
    "db.r7g.xlarge"  = 3300
    "db.r7g.2xlarge" = 5000
  }, var.database_instance_class, 81)
  # The pool: as many connections as the proxy's clients can use at once (the reserved
  # concurrency of the functions that log in through it, generated into chalice.tf.json as
  # local.proxy_clients), and never more than 75% of the instance's, leaving the rest to
  # the admin function (migrations, direct), secret rotation and RDS itself.
  proxy_max_connections_percent = min(75, ceil(100 * local.proxy_clients / local.database_max_connections))
  proxy_max_idle_percent        = min(25, local.proxy_max_connections_percent)
}

resource "aws_security_group" "database_proxy" {
  name        = "textfiles-${var.stage}-database-proxy"
  description = "textfiles RDS Proxy, reachable only from the functions"
  vpc_id      = aws_vpc.main.id
}

resource "aws_vpc_security_group_ingress_rule" "database_proxy_from_functions" {
  security_group_id            = aws_security_group.database_proxy.id
  description                  = "PostgreSQL from the textfiles functions only"
  ip_protocol                  = "tcp"
  from_port                    = 5432
  to_port                      = 5432
  referenced_security_group_id = aws_security_group.functions.id
}

resource "aws_vpc_security_group_egress_rule" "database_proxy_to_database" {
  security_group_id            = aws_security_group.database_proxy.id
  description                  = "PostgreSQL, the proxy's only destination"
  ip_protocol                  = "tcp"
  from_port                    = 5432
  to_port                      = 5432
  referenced_security_group_id = aws_security_group.database.id
}

resource "aws_vpc_security_group_ingress_rule" "database_from_proxy" {
  security_group_id            = aws_security_group.database.id
  description                  = "PostgreSQL from the textfiles RDS Proxy"
  ip_protocol                  = "tcp"
  from_port                    = 5432
  to_port                      = 5432
  referenced_security_group_id = aws_security_group.database_proxy.id
}

resource "aws_vpc_security_group_egress_rule" "functions_to_database_proxy" {
  security_group_id            = aws_security_group.functions.id
  description                  = "PostgreSQL through RDS Proxy"
  ip_protocol                  = "tcp"
  from_port                    = 5432
  to_port                      = 5432
  referenced_security_group_id = aws_security_group.database_proxy.id
}

resource "aws_iam_role" "database_proxy" {
  name = "textfiles-${var.stage}-database-proxy"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "rds.amazonaws.com" }
      Action    = "sts:AssumeRole"
    }]
  })
}

resource "aws_iam_role_policy" "database_proxy" {
  name = "read-app-database-secret"
  role = aws_iam_role.database_proxy.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect   = "Allow"
      Action   = "secretsmanager:GetSecretValue"
      Resource = aws_secretsmanager_secret.database_app.arn
    }]
  })
}

resource "aws_db_proxy" "main" {
  name                   = "textfiles-${var.stage}"
  engine_family          = "POSTGRESQL"
  require_tls            = true
  idle_client_timeout    = 900
  role_arn               = aws_iam_role.database_proxy.arn
  vpc_subnet_ids         = aws_subnet.private[*].id
  vpc_security_group_ids = [aws_security_group.database_proxy.id]

  auth {
    auth_scheme = "SECRETS"
    secret_arn  = aws_secretsmanager_secret.database_app.arn
    iam_auth    = "REQUIRED"
    description = "the application role; clients log in with IAM tokens only"
  }

  depends_on = [aws_iam_role_policy.database_proxy]
}

resource "aws_db_proxy_default_target_group" "main" {
  db_proxy_name = aws_db_proxy.main.name

  connection_pool_config {
    max_connections_percent      = local.proxy_max_connections_percent
    max_idle_connections_percent = local.proxy_max_idle_percent
    connection_borrow_timeout    = 5
  }
}

resource "aws_db_proxy_target" "main" {
  db_proxy_name          = aws_db_proxy.main.name
  target_group_name      = aws_db_proxy_default_target_group.main.name
  db_instance_identifier = aws_db_instance.main.identifier
  depends_on             = [aws_secretsmanager_secret_version.database_app]
}
