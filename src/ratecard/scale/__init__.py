"""Rating beyond one machine: the month's events as partitioned Parquet, rated on Spark.

* :mod:`ratecard.scale.layout`: the partitioned layout ``month=YYYY-MM/bucket=NN/part-*.parquet``
  (bucket: a stable hash of the billing account) and how to find a month's files.
* :mod:`ratecard.scale.export`: the stored events of a month written in that layout.
* :mod:`ratecard.scale.output`: rated lines and invoice totals as Arrow tables (both engines).
* :mod:`ratecard.scale.embedded`: the batch kernel over the layout, bucket by bucket.
* :mod:`ratecard.scale.spark`: the same kernel inside Spark tasks (``mapInArrow``), one task
  per partition of billing accounts.
* :mod:`ratecard.scale.submit`: that job as a ``spark-submit`` script, for a cluster.

PySpark is an optional extra (``ratecard[spark]``): nothing here imports it at module level.
"""
