package chartcheck

import (
	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

func metavSelector(s *metav1.LabelSelector) (labels.Selector, error) {
	return metav1.LabelSelectorAsSelector(s)
}

func metavLabelSelector(d *appsv1.Deployment) (labels.Selector, error) {
	return metavSelector(d.Spec.Selector)
}
