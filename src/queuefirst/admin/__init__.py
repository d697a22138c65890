"""The admin console (管理画面): operators change end-user data through the same queues.

Server-rendered HTML (Jinja2) from the `admin` function, its own image. Every
write is the command the api would send (`queuefirst.api.service`), with the
producer `admin` and the operator's name; the entity's worker applies it.
The operations page reads each function's figures and dead letters, redrives
them, and changes each function's scaling (`operations.py`: the local stack's
control endpoint, or Lambda and CloudWatch when deployed).

Paths: `/admin/static/...` (assets), `/admin/login` and every other
`/admin/...` GET are public and serve only the page shell, which holds no
data; the shell's script loads the view from `/admin/x/...` with the
operator's token in the Authorization header, the only routes that read or
change anything (behind API Gateway's JWT authorizer when deployed).
"""
