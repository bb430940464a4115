"""The queue port: background task messages, to SQS or an in-process queue."""
