DROP TABLE aide_sessions;
DROP TABLE aide_logins;
