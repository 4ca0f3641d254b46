DROP TABLE expiry_reminders;
DROP TABLE mail_outbox;
