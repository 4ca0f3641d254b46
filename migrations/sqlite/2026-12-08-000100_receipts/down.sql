DROP TABLE receipt_reports;
DROP TABLE receipt_report_tokens;
DROP TABLE receipts;
DROP TABLE aide_notification_preferences;
