"""The real parts credcheck is tested against: a local kube-apiserver + etcd, and a moto AWS endpoint with
IAM policy simulation added. Development and test use only; the operator never imports this package."""
