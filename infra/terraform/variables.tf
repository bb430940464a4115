variable "stage" {
  type        = string
  description = "The Chalice stage (.chalice/config.json): dev or prod."
  validation {
    condition     = contains(["dev", "prod"], var.stage)
    error_message = "stage is dev or prod."
  }
}

variable "domain_name" {
  type        = string
  default     = ""
  description = "Custom domain of the API (required for prod), e.g. api.example.com."
}

variable "hosted_zone_id" {
  type        = string
  default     = ""
  description = "Route 53 zone of domain_name: the certificate's validation and the alias record."
}

variable "alert_url" {
  type        = string
  description = "HTTPS endpoint of the remote alert service."
  validation {
    condition     = startswith(var.alert_url, "https://")
    error_message = "alert_url must be an https:// URL."
  }
}

variable "alarm_email" {
  type        = string
  default     = ""
  description = "Optional e-mail subscribed to the alarm topic."
}

variable "monthly_budget_usd" {
  type        = number
  default     = 150
  description = "Monthly cost budget of the account (USD); alerts at 80% actual, 100% forecast."
}

variable "vpc_cidr" {
  type    = string
  default = "10.40.0.0/16"
}

variable "database_instance_class" {
  type    = string
  default = "db.t4g.micro"
}

variable "cache_node_type" {
  type    = string
  default = "cache.t4g.micro"
}

variable "deletion_protection" {
  type        = bool
  default     = null
  description = "The database's deletion protection; unset means on for prod, off for dev."
}

variable "rotation_lambda_arn" {
  type        = string
  default     = ""
  description = <<-EOT
    An existing rotation function for the database secret. Empty (the default) deploys
    AWS's PostgreSQL single-user rotation function from the Serverless Application
    Repository, as the CloudFormation path's hosted rotation does.
  EOT
}
