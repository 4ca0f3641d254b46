DROP TABLE auth_rate_limits;
DROP TABLE auth_sessions;
DROP TABLE totp_devices;
DROP TABLE auth_sign_in_links;
