// A small libcni client for tests (cni_libcni_netns_test.ts): runs one libcni
// call, as container runtimes make it, against a conflist.
//
//	driver add|check|del|version|validate CONFLIST NETNS ID IFNAME BINDIRS CACHEDIR [CAPARGS]
//
// BINDIRS is colon-separated; CAPARGS is a JSON object of capability args
// (e.g. {"portMappings":[...]}). add prints the result JSON; version prints
// each plugin's supported versions; errors print the CNI error JSON on stdout
// and exit 1. Built by the test from Debian's golang-github-appc-cni-dev.
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"github.com/containernetworking/cni/libcni"
	"github.com/containernetworking/cni/pkg/types"
)

func fail(err error) {
	if e, ok := err.(*types.Error); ok {
		out, _ := json.Marshal(e)
		fmt.Println(string(out))
	} else {
		out, _ := json.Marshal(map[string]interface{}{"code": -1, "msg": err.Error()})
		fmt.Println(string(out))
	}
	os.Exit(1)
}

func main() {
	if len(os.Args) < 8 {
		fmt.Fprintln(os.Stderr, "usage: driver ACTION CONFLIST NETNS ID IFNAME BINDIRS CACHEDIR [CAPARGS]")
		os.Exit(2)
	}
	action, confPath, netns, id, ifname := os.Args[1], os.Args[2], os.Args[3], os.Args[4], os.Args[5]
	cni := libcni.NewCNIConfigWithCacheDir(strings.Split(os.Args[6], ":"), os.Args[7], nil)
	list, err := libcni.ConfListFromFile(confPath)
	if err != nil {
		fail(err)
	}
	rt := &libcni.RuntimeConf{ContainerID: id, NetNS: netns, IfName: ifname}
	if len(os.Args) > 8 {
		caps := map[string]interface{}{}
		if err := json.Unmarshal([]byte(os.Args[8]), &caps); err != nil {
			fail(err)
		}
		rt.CapabilityArgs = caps
	}
	ctx := context.Background()
	switch action {
	case "add":
		res, err := cni.AddNetworkList(ctx, list, rt)
		if err != nil {
			fail(err)
		}
		out, _ := json.Marshal(res)
		fmt.Println(string(out))
	case "check":
		if err := cni.CheckNetworkList(ctx, list, rt); err != nil {
			fail(err)
		}
	case "del":
		if err := cni.DelNetworkList(ctx, list, rt); err != nil {
			fail(err)
		}
	case "validate":
		caps, err := cni.ValidateNetworkList(ctx, list)
		if err != nil {
			fail(err)
		}
		out, _ := json.Marshal(caps)
		fmt.Println(string(out))
	case "version":
		versions := map[string][]string{}
		for _, p := range list.Plugins {
			info, err := cni.GetVersionInfo(ctx, p.Network.Type)
			if err != nil {
				fail(err)
			}
			versions[p.Network.Type] = info.SupportedVersions()
		}
		out, _ := json.Marshal(versions)
		fmt.Println(string(out))
	default:
		fail(fmt.Errorf("unknown action %q", action))
	}
}
