# The names are fixed by the code (@on_sqs_message(queue="textfiles-tasks")): one stage per
# account and region, as on the CloudFormation path.
resource "aws_sqs_queue" "dead_letters" {
  name                      = "textfiles-tasks-dlq"
  message_retention_seconds = 1209600
  kms_master_key_id         = "alias/aws/sqs"
}

resource "aws_sqs_queue" "tasks" {
  name                       = "textfiles-tasks"
  visibility_timeout_seconds = 5400
  message_retention_seconds  = 345600
  kms_master_key_id          = "alias/aws/sqs"
  redrive_policy = jsonencode({
    deadLetterTargetArn = aws_sqs_queue.dead_letters.arn
    maxReceiveCount     = 5
  })
}

resource "aws_sqs_queue_policy" "tls_only" {
  for_each  = { tasks = aws_sqs_queue.tasks, dead_letters = aws_sqs_queue.dead_letters }
  queue_url = each.value.url
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid       = "TlsOnly"
      Effect    = "Deny"
      Principal = "*"
      Action    = "sqs:*"
      Resource  = each.value.arn
      Condition = { Bool = { "aws:SecureTransport" = "false" } }
    }]
  })
}
