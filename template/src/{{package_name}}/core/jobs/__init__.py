"""SageMaker jobs: training jobs (and a local stand-in) and Processing jobs that build data sets."""
