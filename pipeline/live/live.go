// Package live reads what a cluster runs, with client-go, into the model
// reachgate computes on: Namespaces, Pods (their labels, addresses,
// hostNetwork and owners), Services and NetworkPolicies of the namespaces
// asked for. It only gets and lists: an audit never changes the cluster.
package live

import (
	"context"
	"fmt"
	"slices"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/tools/clientcmd"
)

// Options say which cluster to read and what of it.
type Options struct {
	// Kubeconfig is the kubeconfig file; "" uses $KUBECONFIG or
	// ~/.kube/config as kubectl does.
	Kubeconfig string
	// Context is the kubeconfig context; "" = the current one.
	Context string
	// Namespaces are read; the others are not looked at.
	Namespaces []string
}

// State is what the cluster runs in the namespaces that were read.
type State struct {
	// Source names where the state came from: "context C (https://...)"
	// or a file.
	Source     string
	Namespaces []corev1.Namespace
	Pods       []corev1.Pod
	Services   []corev1.Service
	Policies   []networkingv1.NetworkPolicy
	// Missing are the namespaces asked for that do not exist.
	Missing []string
}

// pageSize bounds each list call; the API server pages larger answers.
const pageSize = 500

// Read reads the namespaces of opts from the cluster. It needs get on
// namespaces and list on pods, services and networkpolicies in those
// namespaces (docs/audit.md has the ClusterRole).
func Read(ctx context.Context, opts Options) (*State, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = opts.Kubeconfig
	cc := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{CurrentContext: opts.Context})
	raw, err := cc.RawConfig()
	if err != nil {
		return nil, fmt.Errorf("kubeconfig: %w", err)
	}
	cfg, err := cc.ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("kubeconfig: %w", err)
	}
	cfg.UserAgent = "reachgate-audit"
	// The dynamic client, not the typed clientset: that would link every
	// API group's types and clients into the binary (+30 MB) for the four
	// kinds read here.
	dc, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("kubeconfig: %w", err)
	}
	ctxName := opts.Context
	if ctxName == "" {
		ctxName = raw.CurrentContext
	}
	st := &State{Source: fmt.Sprintf("context %s (%s)", ctxName, cfg.Host)}
	nss := slices.Clone(opts.Namespaces)
	slices.Sort(nss)
	for _, name := range slices.Compact(nss) {
		u, err := dc.Resource(namespaces).Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			st.Missing = append(st.Missing, name)
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("get namespace %s: %w", name, err)
		}
		var ns corev1.Namespace
		if err := fromUnstructured(u.Object, &ns, "namespace "+name); err != nil {
			return nil, err
		}
		st.Namespaces = append(st.Namespaces, ns)
		if err := list(ctx, dc, pods, name, func(o map[string]any) error {
			var p corev1.Pod
			err := fromUnstructured(o, &p, "pod in "+name)
			st.Pods = append(st.Pods, p)
			return err
		}); err != nil {
			return nil, err
		}
		if err := list(ctx, dc, services, name, func(o map[string]any) error {
			var s corev1.Service
			err := fromUnstructured(o, &s, "service in "+name)
			st.Services = append(st.Services, s)
			return err
		}); err != nil {
			return nil, err
		}
		if err := list(ctx, dc, networkPolicies, name, func(o map[string]any) error {
			var np networkingv1.NetworkPolicy
			err := fromUnstructured(o, &np, "networkpolicy in "+name)
			st.Policies = append(st.Policies, np)
			return err
		}); err != nil {
			return nil, err
		}
	}
	return st, nil
}

var (
	namespaces      = schema.GroupVersionResource{Version: "v1", Resource: "namespaces"}
	pods            = schema.GroupVersionResource{Version: "v1", Resource: "pods"}
	services        = schema.GroupVersionResource{Version: "v1", Resource: "services"}
	networkPolicies = schema.GroupVersionResource{Group: "networking.k8s.io", Version: "v1", Resource: "networkpolicies"}
)

func fromUnstructured(o map[string]any, out any, what string) error {
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(o, out); err != nil {
		return fmt.Errorf("decode %s: %w", what, err)
	}
	return nil
}

// list pages through one resource in one namespace.
func list(ctx context.Context, dc *dynamic.DynamicClient, gvr schema.GroupVersionResource, ns string, each func(map[string]any) error) error {
	o := metav1.ListOptions{Limit: pageSize}
	for {
		l, err := dc.Resource(gvr).Namespace(ns).List(ctx, o)
		if err != nil {
			return fmt.Errorf("list %s in %s: %w", gvr.Resource, ns, err)
		}
		for i := range l.Items {
			if err := each(l.Items[i].Object); err != nil {
				return err
			}
		}
		if l.GetContinue() == "" {
			return nil
		}
		o.Continue = l.GetContinue()
	}
}
