"""Staff logins the actor may see: create and delete."""
