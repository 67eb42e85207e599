"""credcheck: checks that KKP's AWS credentials can do what KKP needs."""

__version__ = "0.1.0"
