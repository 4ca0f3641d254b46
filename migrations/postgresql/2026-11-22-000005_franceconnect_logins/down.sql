DROP TABLE franceconnect_logins;
