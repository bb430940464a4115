# The infra stack's outputs under the same names as infra/infra.yaml's: the stage's Chalice
# settings and policy files refer to them as ${infra:Name}, which generate.py turns into
# ${local.infra_Name} in the generated application (build/STAGE/terraform/chalice.tf.json).
# One local each: a function that needs one output must not depend on all of them (the
# health check's URL depends on the REST API, which depends on the API function).
locals {
  infra_Partition                  = data.aws_partition.current.partition
  infra_Region                     = data.aws_region.current.name
  infra_AccountId                  = data.aws_caller_identity.current.account_id
  infra_PrivateSubnet1Id           = aws_subnet.private[0].id
  infra_PrivateSubnet2Id           = aws_subnet.private[1].id
  infra_FunctionSecurityGroupId    = aws_security_group.functions.id
  infra_DatabaseSecretArn          = aws_secretsmanager_secret.database.arn
  infra_AppDatabaseSecretArn       = aws_secretsmanager_secret.database_app.arn
  infra_DatabaseProxyEndpoint      = aws_db_proxy.main.endpoint
  # What the functions' rds-db:connect grant names: the proxy's resource id and the user.
  infra_DatabaseProxyUserArn = join(":", [
    "arn", local.infra_Partition, "rds-db", local.infra_Region, local.infra_AccountId,
    "dbuser", "${element(split(":", aws_db_proxy.main.arn), 6)}/textfiles_app",
  ])
  infra_MemcachedServers           = aws_elasticache_cluster.main.configuration_endpoint
  infra_FilesBucketName            = aws_s3_bucket.files.bucket
  infra_FilesBucketArn             = aws_s3_bucket.files.arn
  infra_TaskQueueUrl               = aws_sqs_queue.tasks.url
  infra_TaskQueueArn               = aws_sqs_queue.tasks.arn
  infra_DeadLetterQueueArn         = aws_sqs_queue.dead_letters.arn
  infra_AlertApiKeySecretArn       = aws_secretsmanager_secret.alert_api_key.arn
  infra_HealthcheckApiKeySecretArn = aws_secretsmanager_secret.healthcheck_api_key.arn
  infra_AlertUrl                   = var.alert_url
  infra_HealthcheckBaseUrl         = local.healthcheck_base_url
  infra_DomainName                 = var.domain_name
  infra_CertificateArn             = one(aws_acm_certificate_validation.api[*].certificate_arn)
  infra_AlarmTopicArn              = aws_sns_topic.alarms.arn
}

output "infra" {
  description = "The stage's infrastructure, by the names of infra/infra.yaml's outputs."
  value = {
    Partition                  = local.infra_Partition
    Region                     = local.infra_Region
    AccountId                  = local.infra_AccountId
    PrivateSubnet1Id           = local.infra_PrivateSubnet1Id
    PrivateSubnet2Id           = local.infra_PrivateSubnet2Id
    FunctionSecurityGroupId    = local.infra_FunctionSecurityGroupId
    DatabaseSecretArn          = local.infra_DatabaseSecretArn
    AppDatabaseSecretArn       = local.infra_AppDatabaseSecretArn
    DatabaseProxyEndpoint      = local.infra_DatabaseProxyEndpoint
    DatabaseProxyUserArn       = local.infra_DatabaseProxyUserArn
    MemcachedServers           = local.infra_MemcachedServers
    FilesBucketName            = local.infra_FilesBucketName
    FilesBucketArn             = local.infra_FilesBucketArn
    TaskQueueUrl               = local.infra_TaskQueueUrl
    TaskQueueArn               = local.infra_TaskQueueArn
    DeadLetterQueueArn         = local.infra_DeadLetterQueueArn
    AlertApiKeySecretArn       = local.infra_AlertApiKeySecretArn
    HealthcheckApiKeySecretArn = local.infra_HealthcheckApiKeySecretArn
    AlertUrl                   = local.infra_AlertUrl
    HealthcheckBaseUrl         = local.infra_HealthcheckBaseUrl
    DomainName                 = local.infra_DomainName
    CertificateArn             = local.infra_CertificateArn
    AlarmTopicArn              = local.infra_AlarmTopicArn
  }
}
