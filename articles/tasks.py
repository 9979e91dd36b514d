"""Thin tasks: ids in, one service call."""

from celery import shared_task


@shared_task(
    name="articles.run_import_job",
    ignore_result=True,
    max_retries=0,
    time_limit=3600,
    soft_time_limit=3500,
    acks_late=False,
)
def run_import_job(job_id: int) -> None:
    from .jobs import import_job_run

    import_job_run(job_id=job_id)
