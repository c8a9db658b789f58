"""Access: who is acting, who is an admin, who decides for whom (delegation), and people's time zones."""
