from django.contrib.auth.hashers import Argon2PasswordHasher


class FastArgon2PasswordHasher(Argon2PasswordHasher):
    """Argon2 with the cheapest parameters: the same code path as production, 50x faster."""

    time_cost = 1
    memory_cost = 8
    parallelism = 1
