# API keys: created with a random placeholder; the real values are put out of band
# (docs/deploy.md), so neither the configuration nor the state holds one.
ephemeral "aws_secretsmanager_random_password" "placeholder" {
  for_each            = toset(["alert", "healthcheck"])
  password_length     = 32
  exclude_punctuation = true
}

resource "aws_secretsmanager_secret" "alert_api_key" {
  name        = "textfiles/${var.stage}/alert-api-key"
  description = "Client API key of the remote alert service (put by the operator)"
}

resource "aws_secretsmanager_secret" "healthcheck_api_key" {
  name        = "textfiles/${var.stage}/healthcheck-api-key"
  description = "textfiles API key of the health-check tenant (put by the operator)"
}

resource "aws_secretsmanager_secret_version" "api_key_placeholder" {
  for_each = {
    alert       = aws_secretsmanager_secret.alert_api_key.id
    healthcheck = aws_secretsmanager_secret.healthcheck_api_key.id
  }
  secret_id                = each.value
  secret_string_wo         = ephemeral.aws_secretsmanager_random_password.placeholder[each.key].random_password
  secret_string_wo_version = 1
  # The operator's value becomes AWSCURRENT: never move it back to the placeholder.
  lifecycle {
    ignore_changes = [version_stages]
  }
}
