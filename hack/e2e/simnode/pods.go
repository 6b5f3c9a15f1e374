package simnode

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/tools/cache"
)

const podWorkers = 4

// podState is what the simulated kubelet remembers about a pod it started.
type podState struct {
	uid       types.UID
	key       string
	node      *simNode
	ip        string
	allocated bool // ip came from the node's pool
	started   metav1.Time
	ids       map[string]string // container name -> runtime id
	sandbox   string            // WorkDir/<uid>
	running   bool              // containers running: exec allowed
	deadline  bool              // killed by activeDeadlineSeconds

	ctx    context.Context // ends the pod's execs
	cancel context.CancelFunc
	gone   bool // torn down: no new exec
	execs  sync.WaitGroup
}

func (s *Sim) startPodLoop(ctx context.Context) error {
	pods := s.cfg.Client.CoreV1().Pods(metav1.NamespaceAll)
	// One watch for all nodes: field selectors cannot say "nodeName in (...)", so take every
	// bound pod and keep ours.
	sel := fields.OneTermNotEqualSelector("spec.nodeName", "").String()
	lw := &cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			o.FieldSelector = sel
			return pods.List(ctx, o)
		},
		WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			o.FieldSelector = sel
			return pods.Watch(ctx, o)
		},
	}
	// The wrapper tells the reflector whether the client streams watch-lists (fakes do not).
	s.informer = cache.NewSharedIndexInformer(cache.ToListWatcherWithWatchListSemantics(lw, s.cfg.Client), &corev1.Pod{}, 0, cache.Indexers{})
	enqueue := func(obj any) {
		if p, ok := obj.(*corev1.Pod); ok && s.nodes[p.Spec.NodeName] == nil {
			return
		}
		if key, err := cache.DeletionHandlingMetaNamespaceKeyFunc(obj); err == nil {
			s.queue.Add(key)
		}
	}
	if _, err := s.informer.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    enqueue,
		UpdateFunc: func(_, obj any) { enqueue(obj) },
		DeleteFunc: enqueue,
	}); err != nil {
		return fmt.Errorf("watching pods for the simulated nodes: %w", err)
	}
	s.workers.Add(1)
	go func() {
		defer s.workers.Done()
		s.informer.RunWithContext(s.ctx)
	}()
	if !cache.WaitForCacheSync(ctx.Done(), s.informer.HasSynced) {
		return fmt.Errorf("the pod list of the simulated nodes did not sync before start-up ended: %w", context.Cause(ctx))
	}
	for range podWorkers {
		s.workers.Add(1)
		go func() {
			defer s.workers.Done()
			for s.processNext() {
			}
		}()
	}
	return nil
}

func (s *Sim) processNext() bool {
	key, quit := s.queue.Get()
	if quit {
		return false
	}
	defer s.queue.Done(key)
	if err := s.syncPod(s.ctx, key); err != nil {
		if s.ctx.Err() == nil {
			s.logf("simnode: pod %s: %v (will retry)", key, err)
		}
		s.queue.AddRateLimited(key)
		return true
	}
	s.queue.Forget(key)
	return true
}

// syncPod does what a kubelet does for one pod: start it, report it, finish its deletion.
func (s *Sim) syncPod(ctx context.Context, key string) error {
	obj, exists, err := s.informer.GetIndexer().GetByKey(key)
	if err != nil {
		return err
	}
	s.mu.Lock()
	oldUID, known := s.byKey[key]
	s.mu.Unlock()
	if !exists {
		if known {
			s.teardown(oldUID)
		}
		return nil
	}
	pod := obj.(*corev1.Pod)
	if known && oldUID != pod.UID {
		s.teardown(oldUID) // same name, new pod
	}
	node := s.nodes[pod.Spec.NodeName]
	if node == nil {
		return nil
	}
	if pod.DeletionTimestamp != nil {
		// The kubelet stops the containers, removes the sandbox (HostProcess containers take
		// their folder with them), then completes the deletion.
		s.teardown(pod.UID)
		uid := pod.UID
		err := s.cfg.Client.CoreV1().Pods(pod.Namespace).Delete(ctx, pod.Name, metav1.DeleteOptions{
			GracePeriodSeconds: new(int64),
			Preconditions:      &metav1.Preconditions{UID: &uid},
		})
		if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
			return fmt.Errorf("completing the deletion: %w", err)
		}
		return nil
	}
	if node.spec.NotReady || pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed {
		return nil
	}
	st, err := s.ensurePod(pod, node)
	if err != nil {
		return err
	}
	if d := pod.Spec.ActiveDeadlineSeconds; d != nil && !st.deadline {
		left := time.Until(st.started.Add(time.Duration(*d) * time.Second))
		if left > 0 {
			s.queue.AddAfter(key, left)
		} else {
			s.killForDeadline(st)
		}
	}
	want := s.desiredStatus(pod, st)
	if fingerprint(&pod.Status) == fingerprint(want) {
		return nil
	}
	updated := pod.DeepCopy()
	updated.Status = *want
	if _, err := s.cfg.Client.CoreV1().Pods(pod.Namespace).UpdateStatus(ctx, updated, metav1.UpdateOptions{}); err != nil {
		if apierrors.IsNotFound(err) {
			return nil
		}
		return fmt.Errorf("reporting the pod's status: %w", err)
	}
	return nil
}

// ensurePod returns the pod's state, creating it (IP, sandbox folder, container ids) the
// first time.
func (s *Sim) ensurePod(pod *corev1.Pod, node *simNode) (*podState, error) {
	key := pod.Namespace + "/" + pod.Name
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.pods[pod.UID]
	if st == nil {
		st = &podState{
			uid:     pod.UID,
			key:     key,
			node:    node,
			started: metav1.NewTime(time.Now().Truncate(time.Second)),
			ids:     map[string]string{},
			sandbox: filepath.Join(s.cfg.WorkDir, sandboxName(pod)),
		}
		st.ctx, st.cancel = context.WithCancel(s.ctx)
		switch ip := pod.Annotations[AnnotationPodIP]; {
		case pod.Spec.HostNetwork:
			st.ip = "127.0.0.1"
		case ip != "":
			if net.ParseIP(ip) == nil {
				return nil, fmt.Errorf("annotation %s=%q is not an IP address", AnnotationPodIP, ip)
			}
			st.ip = ip
		default:
			ip, err := s.allocateIP(node)
			if err != nil {
				return nil, err
			}
			st.ip, st.allocated = ip, true
		}
		s.pods[pod.UID] = st
		s.byKey[key] = pod.UID
	}
	running := waitState(pod, node) == "" && !st.deadline
	if running && !st.running {
		if err := os.MkdirAll(filepath.Join(st.sandbox, "hpc"), 0o755); err != nil {
			return nil, fmt.Errorf("creating the pod's sandbox folder: %w", err)
		}
		for _, c := range allContainers(pod) {
			if st.ids[c] == "" {
				sum := sha256.Sum256([]byte(string(pod.UID) + "/" + c))
				st.ids[c] = hex.EncodeToString(sum[:])
			}
		}
	}
	st.running = running
	return st, nil
}

// waitState is the waiting reason the pod's containers are held in: the pod's own annotation,
// else its node's PodState; "" lets them run.
func waitState(pod *corev1.Pod, node *simNode) string {
	if s := pod.Annotations[AnnotationState]; s != "" {
		return s
	}
	if node != nil {
		return node.spec.PodState
	}
	return ""
}

// sandboxName keys the sandbox folder by pod UID; clients that set no UID (fakes) fall back
// to namespace and name.
func sandboxName(pod *corev1.Pod) string {
	if pod.UID != "" {
		return string(pod.UID)
	}
	return pod.Namespace + "_" + pod.Name
}

func allContainers(pod *corev1.Pod) []string {
	var names []string
	for _, c := range pod.Spec.Containers {
		names = append(names, c.Name)
	}
	for _, c := range pod.Spec.EphemeralContainers {
		names = append(names, c.Name)
	}
	return names
}

// allocateIP picks the lowest free address of the node's /24. Caller holds s.mu.
func (s *Sim) allocateIP(n *simNode) (string, error) {
	for host := 2; host < 255; host++ {
		ip := fmt.Sprintf("%s.%d", n.subnet(), host)
		if !n.usedIPs[ip] {
			n.usedIPs[ip] = true
			return ip, nil
		}
	}
	return "", fmt.Errorf("node %s has no free pod IP left in %s.0/24", n.spec.Name, n.subnet())
}

// killForDeadline ends a pod whose activeDeadlineSeconds passed, as the kubelet does.
func (s *Sim) killForDeadline(st *podState) {
	s.mu.Lock()
	st.deadline = true
	st.running = false
	s.mu.Unlock()
	st.cancel()
}

// teardown stops the pod's execs, waits for them, removes its sandbox and forgets it.
func (s *Sim) teardown(uid types.UID) {
	s.mu.Lock()
	st := s.pods[uid]
	if st == nil {
		s.mu.Unlock()
		return
	}
	delete(s.pods, uid)
	if s.byKey[st.key] == uid {
		delete(s.byKey, st.key)
	}
	if st.allocated {
		delete(st.node.usedIPs, st.ip)
	}
	st.gone = true
	st.running = false
	s.mu.Unlock()
	st.cancel()
	st.execs.Wait()
	if err := os.RemoveAll(st.sandbox); err != nil {
		s.logf("simnode: removing the sandbox of pod %s: %v", st.key, err)
	}
}

// desiredStatus is the status a kubelet would report for the pod now.
func (s *Sim) desiredStatus(pod *corev1.Pod, st *podState) *corev1.PodStatus {
	// Start from the current status: the API server owns some fields (qosClass) and refuses
	// updates that drop them.
	status := pod.Status.DeepCopy()
	state := waitState(pod, st.node)
	status.ObservedGeneration = pod.Generation
	status.HostIP = "127.0.0.1"
	status.HostIPs = []corev1.HostIP{{IP: "127.0.0.1"}}
	status.PodIP = st.ip
	status.PodIPs = []corev1.PodIP{{IP: st.ip}}
	status.StartTime = &st.started
	status.Reason, status.Message = "", ""

	cond := func(t corev1.PodConditionType, ok bool, reason, msg string) corev1.PodCondition {
		c := corev1.PodCondition{Type: t, Status: corev1.ConditionTrue, LastTransitionTime: st.started, ObservedGeneration: pod.Generation}
		if !ok {
			c.Status, c.Reason, c.Message = corev1.ConditionFalse, reason, msg
		}
		return c
	}
	ready := st.running
	var unready []string
	for _, c := range pod.Spec.Containers {
		unready = append(unready, c.Name)
	}
	notReadyMsg := fmt.Sprintf("containers with unready status: %v", unready)
	status.Conditions = []corev1.PodCondition{
		cond(corev1.PodReadyToStartContainers, !st.deadline, "", ""),
		cond(corev1.PodInitialized, true, "", ""),
		cond(corev1.PodReady, ready, "ContainersNotReady", notReadyMsg),
		cond(corev1.ContainersReady, ready, "ContainersNotReady", notReadyMsg),
		cond(corev1.PodScheduled, true, "", ""),
	}

	status.InitContainerStatuses = nil
	for _, c := range pod.Spec.InitContainers {
		status.InitContainerStatuses = append(status.InitContainerStatuses, corev1.ContainerStatus{
			Name: c.Name, Image: c.Image, ImageID: imageID(c.Image), Ready: true, Started: new(bool),
			ContainerID: "containerd://" + containerID(pod, "init/"+c.Name),
			State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{
				ExitCode: 0, Reason: "Completed", StartedAt: st.started, FinishedAt: st.started,
				ContainerID: "containerd://" + containerID(pod, "init/"+c.Name),
			}},
		})
	}
	status.ContainerStatuses = nil
	for _, c := range pod.Spec.Containers {
		status.ContainerStatuses = append(status.ContainerStatuses, s.containerStatus(pod, st, c.Name, c.Image, state))
	}
	status.EphemeralContainerStatuses = nil
	for _, c := range pod.Spec.EphemeralContainers {
		status.EphemeralContainerStatuses = append(status.EphemeralContainerStatuses, s.containerStatus(pod, st, c.Name, c.Image, state))
	}

	switch {
	case st.deadline:
		status.Phase = corev1.PodFailed
		status.Reason = "DeadlineExceeded"
		status.Message = "Pod was active on the node longer than the specified deadline"
	case st.running:
		status.Phase = corev1.PodRunning
	default:
		status.Phase = corev1.PodPending
	}
	return status
}

func (s *Sim) containerStatus(pod *corev1.Pod, st *podState, name, image, state string) corev1.ContainerStatus {
	cs := corev1.ContainerStatus{Name: name, Image: image, Started: new(bool)}
	switch {
	case st.deadline:
		cs.ImageID = imageID(image)
		cs.ContainerID = "containerd://" + st.ids[name]
		cs.State.Terminated = &corev1.ContainerStateTerminated{
			ExitCode: 1, Reason: "Error", StartedAt: st.started, FinishedAt: metav1.NewTime(time.Now().Truncate(time.Second)),
			ContainerID: cs.ContainerID,
		}
	case st.running:
		cs.Ready = true
		*cs.Started = true
		cs.ImageID = imageID(image)
		cs.ContainerID = "containerd://" + st.ids[name]
		cs.State.Running = &corev1.ContainerStateRunning{StartedAt: st.started}
	default:
		cs.State.Waiting = &corev1.ContainerStateWaiting{Reason: state, Message: waitingMessage(pod, name, image, state)}
		if state == "CrashLoopBackOff" {
			cs.RestartCount = 5
			cs.ImageID = imageID(image)
			cs.LastTerminationState.Terminated = &corev1.ContainerStateTerminated{
				ExitCode: 1, Reason: "Error", StartedAt: st.started, FinishedAt: st.started,
				ContainerID: "containerd://" + containerID(pod, name),
			}
		}
	}
	return cs
}

// waitingMessage is what containerd on Windows and the kubelet say for each waiting reason.
func waitingMessage(pod *corev1.Pod, container, image, reason string) string {
	pullErr := fmt.Sprintf("rpc error: code = NotFound desc = failed to pull and unpack image %q: failed to resolve reference %q: %s: not found", image, image, image)
	id := containerID(pod, container)
	switch reason {
	case "ErrImagePull":
		return pullErr
	case "ImagePullBackOff":
		return fmt.Sprintf("Back-off pulling image %q: ErrImagePull: %s", image, pullErr)
	case "CreateContainerError":
		return fmt.Sprintf("failed to create containerd container: hcs::CreateComputeSystem %s: The container operating system does not match the host operating system.: unknown", id)
	case "CreateContainerConfigError":
		return fmt.Sprintf("secret %q not found", "missing")
	case "RunContainerError":
		return fmt.Sprintf("failed to start containerd task %q: hcs::System::CreateProcess %s: The system cannot find the file specified.: unknown", id, id)
	case "CrashLoopBackOff":
		return fmt.Sprintf("back-off 5m0s restarting failed container=%s pod=%s_%s(%s)", container, pod.Name, pod.Namespace, pod.UID)
	}
	return ""
}

func containerID(pod *corev1.Pod, name string) string {
	sum := sha256.Sum256([]byte(string(pod.UID) + "/" + pod.Namespace + "/" + pod.Name + "/" + name))
	return hex.EncodeToString(sum[:])
}

func imageID(image string) string {
	sum := sha256.Sum256([]byte(image))
	repo := image
	for i := len(repo) - 1; i >= 0 && repo[i] != '/'; i-- {
		if repo[i] == ':' || repo[i] == '@' {
			repo = repo[:i]
			break
		}
	}
	return repo + "@sha256:" + hex.EncodeToString(sum[:])
}

// fingerprint holds what the simulator decides about a pod's status; when it matches, no
// update is sent. Comparing whole statuses would loop forever on fields the API server
// rewrites (timestamps' precision, feature-gated fields it drops).
func fingerprint(st *corev1.PodStatus) string {
	fp := fmt.Sprintf("%s|%s|%s|%s|%v|", st.Phase, st.Reason, st.PodIP, st.HostIP, st.StartTime != nil)
	conds := make([]string, 0, len(st.Conditions))
	for _, c := range st.Conditions {
		conds = append(conds, fmt.Sprintf("%s=%s", c.Type, c.Status))
	}
	slices.Sort(conds)
	fp += fmt.Sprint(conds)
	for _, list := range [][]corev1.ContainerStatus{st.InitContainerStatuses, st.ContainerStatuses, st.EphemeralContainerStatuses} {
		fp += "|"
		for _, c := range list {
			kind := "none"
			switch {
			case c.State.Running != nil:
				kind = "running"
			case c.State.Terminated != nil:
				kind = "terminated:" + c.State.Terminated.Reason
			case c.State.Waiting != nil:
				kind = "waiting:" + c.State.Waiting.Reason
			}
			fp += fmt.Sprintf("%s:%s:%v,", c.Name, kind, c.Ready)
		}
	}
	return fp
}
